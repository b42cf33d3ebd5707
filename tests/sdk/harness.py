"""Helpers of the end-to-end harness: a real `tagd serve` process driven by Alibaba's real Python SDKs.

Environment:
  TAGD_BIN   path to the built tagd binary (default: <repo>/target/debug/tagd).

Everything the tests assert comes from shared/spec/aliyun.md and shared/seeds/aliyun-rds-TagResources.txt.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import json
import os
import pathlib
import re
import signal
import subprocess
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import requests

# Both SDK generations (and requests) honour proxy variables; the server is on 127.0.0.1.
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

REPO = pathlib.Path(__file__).resolve().parents[2]

ROOT_AK = "LTAItestroot000000000000"
ROOT_SECRET = "RootSecret0123456789abcdefghij"  # 30 characters, like Alibaba's secrets
assert len(ROOT_SECRET) == 30

RDS_VERSION = "2014-08-15"
RDS_TYPE = "ALIYUN::RDS::INSTANCE"
REGION = "cn-hangzhou"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

READY_TIMEOUT = 30.0


def uid(n: int = 12) -> str:
    """A lowercase alphanumeric suffix for resource ids, unique per call."""
    return uuid.uuid4().hex[:n]


def rid(prefix: str = "rm") -> str:
    """A fresh RDS-shaped resource id, e.g. rm-3f9c0a1b2c3d."""
    return f"{prefix}-{uid()}"


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------

_LIVE_SERVERS: list["TagdServer"] = []


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _tail(path: pathlib.Path, lines: int = 120) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "<no file>"
    return "\n".join(_ANSI.sub("", text).splitlines()[-lines:])


def _clean_env() -> dict:
    env = dict(os.environ)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    env["TAGD_ACCESS_KEY_ID"] = ROOT_AK
    env["TAGD_ACCESS_KEY_SECRET"] = ROOT_SECRET
    env["NO_COLOR"] = "1"
    return env


class TagdServer:
    """One `tagd serve` process on 127.0.0.1 with its own data directory."""

    def __init__(self, binary: str, workdir: pathlib.Path, extra_args=()):
        self.binary = binary
        self.workdir = pathlib.Path(workdir)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.ready_file = self.workdir / "ready.json"
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self.generation = 0
        self.port: int | None = None
        self.stdout_path = self.workdir / "stdout.0.log"
        self.stderr_path = self.workdir / "stderr.0.log"
        self._files = []

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self.port is not None, "server not started"
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self) -> str:
        return (
            f"--- tagd generation {self.generation} ({self.workdir}) stdout ---\n{_tail(self.stdout_path)}\n"
            f"--- stderr ---\n{_tail(self.stderr_path)}"
        )

    def start(self) -> "TagdServer":
        assert not self.running, "already running"
        self.generation += 1
        if self.ready_file.exists():
            self.ready_file.unlink()
        self.stdout_path = self.workdir / f"stdout.{self.generation}.log"
        self.stderr_path = self.workdir / f"stderr.{self.generation}.log"
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        self._files += [out, err]
        cmd = [
            self.binary, "serve",
            "--listen", "127.0.0.1:0",
            "--data-dir", str(self.data_dir),
            "--ready-file", str(self.ready_file),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=_clean_env())
        deadline = time.monotonic() + READY_TIMEOUT
        ready = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"tagd serve exited with {rc} before becoming ready: {cmd}\n{self.logs()}")
            if self.ready_file.exists():
                try:
                    ready = json.loads(self.ready_file.read_text())
                    break
                except (ValueError, OSError):
                    pass  # still being written
            time.sleep(0.05)
        if ready is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no ready file within {READY_TIMEOUT}s: {cmd}\n{self.logs()}")
        assert isinstance(ready, dict) and "listen" in ready and "pid" in ready, f"ready file: {ready!r}"
        assert ready["pid"] == self.proc.pid, f"ready file pid {ready['pid']} != child pid {self.proc.pid}"
        host, _, port = str(ready["listen"]).rpartition(":")
        assert host == "127.0.0.1", f"ready file listen: {ready['listen']!r}"
        self.port = int(port)
        assert self.port > 0
        r = requests.get(f"{self.base_url}/healthz", timeout=5)
        assert r.status_code == 200, f"/healthz right after ready: {r.status_code} {r.text!r}\n{self.logs()}"
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Graceful stop: SIGTERM, then the process must exit 0."""
        assert self.running, "not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"tagd did not exit within {timeout}s of SIGTERM\n{self.logs()}")
        assert rc == 0, f"tagd exited with {rc} after SIGTERM\n{self.logs()}"

    def kill9(self) -> None:
        assert self.running, "not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def restart(self) -> "TagdServer":
        if self.running:
            self.stop()
        return self.start()

    def close(self) -> None:
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in self._files:
            f.close()
        self._files = []

    # -- the CLI on the same data dir ---------------------------------------------------------

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.binary, *args, "--data-dir", str(self.data_dir)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=_clean_env(), stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def cli_json(self, *args: str):
        p = self.cli(*args)
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise AssertionError(f"tagd {' '.join(args)}: stdout is not JSON ({e}): {p.stdout!r}")

    def create_account(self, name: str) -> dict:
        acc = self.cli_json("account", "create", name, "--json")
        for field in ("account_id", "access_key_id", "access_key_secret"):
            assert isinstance(acc.get(field), str) and acc[field], f"account create --json: {acc!r}"
        return acc

    def key_create(self, account: str) -> dict:
        key = self.cli_json("key", "create", account, "--json")
        for field in ("access_key_id", "access_key_secret"):
            assert isinstance(key.get(field), str) and key[field], f"key create --json: {key!r}"
        return key

    def key_list(self, account: str) -> list:
        keys = self.cli_json("key", "list", account, "--json")
        assert isinstance(keys, list), f"key list --json: {keys!r}"
        for k in keys:
            assert "access_key_id" in k and "enabled" in k, f"key list entry: {k!r}"
        return keys

    def key_disable(self, key_id: str) -> None:
        self.cli("key", "disable", key_id)

    def resource_register(self, account_id: str, region: str, resource_id: str, rtype: str = RDS_TYPE) -> None:
        self.cli("resource", "register", account_id, region, rtype, resource_id)

    def resource_deregister(self, account_id: str, region: str, resource_id: str, rtype: str = RDS_TYPE) -> None:
        self.cli("resource", "deregister", account_id, region, rtype, resource_id)

    # -- clients bound to this server ---------------------------------------------------------

    def raw(self, ak: str = ROOT_AK, secret: str = ROOT_SECRET) -> "RawClient":
        return RawClient(self, ak, secret)

    def legacy(self, ak: str = ROOT_AK, secret: str = ROOT_SECRET, region: str = REGION) -> "LegacyRds":
        return LegacyRds(self, ak, secret, region)

    def tea(self, ak: str = ROOT_AK, secret: str = ROOT_SECRET, v2: bool = False) -> "TeaRds":
        return TeaRds(self, ak, secret, v2)


def spawn_server(tagd_bin: str, tmp_path_factory, *extra_args: str, start: bool = True) -> TagdServer:
    s = TagdServer(tagd_bin, tmp_path_factory.mktemp("tagd"), extra_args)
    _LIVE_SERVERS.append(s)
    if start:
        try:
            s.start()
        except BaseException:
            s.close()
            _LIVE_SERVERS.remove(s)
            raise
    return s


def retire_server(s: TagdServer) -> None:
    s.close()
    if s in _LIVE_SERVERS:
        _LIVE_SERVERS.remove(s)


# --------------------------------------------------------------------------------------------
# Raw signing (independent of the SDKs): spec §1.3 (V1) and §1.4 (V3)
# --------------------------------------------------------------------------------------------


def pct(s) -> str:
    """RFC 3986 encoding of UTF-8 bytes: keep A-Z a-z 0-9 - _ . ~, %XX (uppercase) for the rest."""
    return urllib.parse.quote(str(s), safe="-_.~", encoding="utf-8")


def v1_string_to_sign(method: str, params) -> str:
    pairs = sorted(((str(k), str(v)) for k, v in params), key=lambda kv: kv[0].encode())
    canonical = "&".join(f"{pct(k)}={pct(v)}" for k, v in pairs)
    return f"{method}&{pct('/')}&{pct(canonical)}"


def v1_signature(secret: str, string_to_sign: str) -> str:
    mac = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def v3_canonical_request(method: str, query, headers: dict, signed: list, payload_hash: str) -> str:
    pairs = sorted(((str(k), str(v)) for k, v in query), key=lambda kv: kv[0].encode())
    canonical_query = "&".join(f"{pct(k)}={pct(v)}" for k, v in pairs)
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    canonical_headers = "".join(f"{h}:{lower[h]}\n" for h in signed)
    return "\n".join([method, "/", canonical_query, canonical_headers, ";".join(signed), payload_hash])


def v3_signature(secret: str, canonical_request: str) -> str:
    sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
    return hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()


def utc_stamp(offset_seconds: float = 0) -> str:
    t = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pairs(params) -> list:
    if params is None:
        return []
    if isinstance(params, dict):
        return [(k, v) for k, v in params.items()]
    return list(params)


def form_encode(pairs, plus_for_space: bool = False) -> str:
    s = "&".join(f"{pct(k)}={pct(v)}" for k, v in pairs)
    return s.replace("%20", "+") if plus_for_space else s


def rds_tag_params(ids, tags, region=REGION, resource_type="INSTANCE") -> list:
    """API parameters of RDS TagResources. tags: list of (key, value) with value None = absent."""
    p = []
    if region is not None:
        p.append(("RegionId", region))
    if resource_type is not None:
        p.append(("ResourceType", resource_type))
    for i, r in enumerate(ids, 1):
        p.append((f"ResourceId.{i}", r))
    for i, (k, v) in enumerate(tags, 1):
        if k is not None:
            p.append((f"Tag.{i}.Key", k))
        if v is not None:
            p.append((f"Tag.{i}.Value", v))
    return p


class RawResponse:
    """A requests.Response plus what we signed, with helpers for both body formats."""

    def __init__(self, resp: requests.Response, string_to_sign: str | None = None):
        self.resp = resp
        self.status = resp.status_code
        self.text = resp.text
        self.content_type = resp.headers.get("Content-Type", "")
        self.string_to_sign = string_to_sign

    def json(self) -> dict:
        try:
            return json.loads(self.text)
        except ValueError:
            raise AssertionError(f"not JSON (status {self.status}, {self.content_type}): {self.text[:500]!r}")

    def xml(self) -> ET.Element:
        try:
            return ET.fromstring(self.resp.content)
        except ET.ParseError:
            raise AssertionError(f"not XML (status {self.status}, {self.content_type}): {self.text[:500]!r}")

    def __repr__(self):
        return f"<HTTP {self.status} {self.content_type} {self.text[:400]!r}>"


class RawClient:
    """Hand-signed requests against the server, for what the SDKs cannot or will not send."""

    def __init__(self, server: TagdServer, ak: str, secret: str):
        self.server = server
        self.ak = ak
        self.secret = secret
        self.session = requests.Session()
        self.session.trust_env = False

    def v1(self, action, params=None, *, method="POST", fmt="JSON", version=RDS_VERSION, body=None,
           nonce=None, timestamp=None, sign=True, secret=None, ak=None, plus_for_space=False,
           omit=()) -> RawResponse:
        """V1 (HMAC-SHA1) request. `params` go in the query, `body` (pairs) in a form body."""
        common = [
            ("Action", action), ("Version", version), ("AccessKeyId", ak or self.ak),
            ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"),
            ("SignatureNonce", nonce or uuid.uuid4().hex), ("Timestamp", timestamp or utc_stamp()),
        ]
        if fmt is not None:
            common.append(("Format", fmt))
        query = [(k, v) for k, v in common if k not in omit and v is not None] + _pairs(params)
        body_pairs = _pairs(body) if body is not None else []
        sts = v1_string_to_sign(method, query + body_pairs)
        if sign:
            query.append(("Signature", v1_signature(secret if secret is not None else self.secret, sts)))
        url = f"{self.server.base_url}/?{form_encode(query, plus_for_space)}"
        headers = {}
        data = None
        if body is not None:
            data = form_encode(body_pairs, plus_for_space).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        resp = self.session.request(method, url, data=data, headers=headers, timeout=15)
        return RawResponse(resp, sts)

    def v3(self, action, params=None, *, method="POST", version=RDS_VERSION, body=None, body_bytes=None,
           content_sha256=None, nonce=None, date=None, secret=None, ak=None) -> RawResponse:
        """V3 (ACS3-HMAC-SHA256) request. `params` in the query; `body` (pairs) as a form body."""
        query = _pairs(params)
        if body_bytes is None and body is not None:
            body_bytes = form_encode(_pairs(body)).encode()
        payload = body_bytes or b""
        headers = {
            "host": self.server.endpoint,
            "x-acs-action": action,
            "x-acs-version": version,
            "x-acs-date": date or utc_stamp(),
            "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
            "x-acs-content-sha256": content_sha256 or hashlib.sha256(payload).hexdigest(),
            "accept": "application/json",
        }
        if body_bytes is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
        signed = sorted(headers)
        creq = v3_canonical_request(method, query, headers, signed, headers["x-acs-content-sha256"])
        sig = v3_signature(secret if secret is not None else self.secret, creq)
        headers["Authorization"] = (
            f"ACS3-HMAC-SHA256 Credential={ak or self.ak},SignedHeaders={';'.join(signed)},Signature={sig}"
        )
        url = f"{self.server.base_url}/"
        if query:
            url += "?" + form_encode(query)
        resp = self.session.request(method, url, data=body_bytes, headers=headers, timeout=15)
        return RawResponse(resp)

    # -- RDS conveniences (V1, JSON) ---------------------------------------------------------

    def tag(self, ids, tags, region=REGION, resource_type="INSTANCE", **kw) -> RawResponse:
        return self.v1("TagResources", rds_tag_params(ids, tags, region, resource_type), **kw)

    def untag(self, ids, keys=(), all_=None, region=REGION, resource_type="INSTANCE", **kw) -> RawResponse:
        p = [("RegionId", region), ("ResourceType", resource_type)]
        p += [(f"ResourceId.{i}", r) for i, r in enumerate(ids, 1)]
        p += [(f"TagKey.{i}", k) for i, k in enumerate(keys, 1)]
        if all_ is not None:
            p.append(("All", all_))
        return self.v1("UntagResources", p, **kw)

    def list_page(self, ids=(), tags=(), token=None, region=REGION, resource_type="INSTANCE", **kw) -> RawResponse:
        p = [("RegionId", region), ("ResourceType", resource_type)]
        p += [(f"ResourceId.{i}", r) for i, r in enumerate(ids, 1)]
        for i, (k, v) in enumerate(tags, 1):
            p.append((f"Tag.{i}.Key", k))
            if v is not None:
                p.append((f"Tag.{i}.Value", v))
        if token is not None:
            p.append(("NextToken", token))
        return self.v1("ListTagResources", p, **kw)

    def rows(self, ids=(), tags=(), region=REGION, resource_type="INSTANCE", expect_type=RDS_TYPE) -> list:
        """All (ResourceId, TagKey, TagValue) rows over every page, in server order."""
        out, token, pages = [], None, 0
        while True:
            r = self.list_page(ids, tags, token, region, resource_type)
            assert r.status == 200, f"ListTagResources failed: {r!r}"
            body = r.json()
            page = body["TagResources"]["TagResource"]
            assert len(page) <= 50, f"page of {len(page)} rows"
            for row in page:
                if callable(expect_type):
                    assert expect_type(row["ResourceType"]), row
                else:
                    assert row["ResourceType"] == expect_type, row
                out.append((row["ResourceId"], row["TagKey"], row["TagValue"]))
            token = body.get("NextToken")
            pages += 1
            assert pages < 1000, "paging does not end"
            if not token:
                assert token == "", f"last page NextToken must be \"\", got {token!r}"
                return out


# --------------------------------------------------------------------------------------------
# Error assertions
# --------------------------------------------------------------------------------------------

ERROR_FIELDS = ("RequestId", "HostId", "Code", "Message", "Recommend")


# Spec §1.7 (common gateway errors) and §2.3 (NextToken): their messages are fixed texts.
GATEWAY_MESSAGES = {
    "IncompleteSignature": "The request signature does not conform to Aliyun standards.",
    "InvalidAccessKeyId.NotFound": "Specified access key is not found.",
    "InvalidAccessKeyId.Inactive": "Specified access key is disabled.",
    "InvalidTimeStamp.Format": "Specified time stamp or date value is not well formatted.",
    "InvalidTimeStamp.Expired": "Specified time stamp or date value is expired.",
    "SignatureNonceUsed": "Specified signature nonce was used already.",
    "InvalidVersion": "Specified parameter Version is not valid.",
    "InvalidAction.NotFound": "Specified api is not found, please check your url and method.",
    "Invalid.NextToken": "The parameter NextToken is invalid.",
}
SIGNATURE_MISMATCH_PREFIX = "Specified signature is not matched with our calculation. server string to sign is:"


def assert_error_fields(fields: dict, where: str = "") -> None:
    for f in ERROR_FIELDS:
        v = fields.get(f)
        assert isinstance(v, str) and v != "", f"error body field {f} missing or empty {where}: {fields!r}"


def assert_raw_error(r: RawResponse, status: int, code: str, message: str | None = None,
                     message_suffix: str | None = None) -> dict:
    """A JSON error response: status, Content-Type, the five fields, code and (optionally) message."""
    assert r.status != 200
    assert r.status == status, f"expected {status} {code}, got {r!r}"
    assert r.content_type.replace(" ", "").lower() == "application/json;charset=utf-8", r.content_type
    body = r.json()
    assert_error_fields(body, repr(r))
    assert body["Code"] == code, f"expected {code}, got {body!r}"
    if message is None:
        message = GATEWAY_MESSAGES.get(code)
    if code == "SignatureDoesNotMatch":
        assert body["Message"].startswith(SIGNATURE_MISMATCH_PREFIX), body["Message"]
    if message is not None:
        assert body["Message"] == message, f"expected message {message!r}, got {body['Message']!r}"
    if message_suffix is not None:
        assert body["Message"].endswith(message_suffix), f"{body['Message']!r} !endswith {message_suffix!r}"
    return body


def xml_fields(root: ET.Element) -> dict:
    return {child.tag: (child.text or "") for child in root}


# --------------------------------------------------------------------------------------------
# SDK clients
# --------------------------------------------------------------------------------------------


class LegacyRds:
    """aliyun-python-sdk-core + aliyun-python-sdk-rds (V1 signature), spec §5.1."""

    def __init__(self, server: TagdServer, ak: str, secret: str, region: str):
        from aliyunsdkcore.client import AcsClient

        self.server = server
        self.client = AcsClient(ak, secret, region, auto_retry=False)

    def _do(self, req, region=None, method=None) -> dict:
        req.set_endpoint(self.server.endpoint)
        req.set_protocol_type("http")
        if region is not None:
            req.add_query_param("RegionId", region)
        if method is not None:
            req.set_method(method)
        return json.loads(self.client.do_action_with_exception(req))

    def tag(self, ids, tags, resource_type="INSTANCE", region=None, method=None) -> dict:
        from aliyunsdkrds.request.v20140815 import TagResourcesRequest

        r = TagResourcesRequest.TagResourcesRequest()
        if resource_type is not None:
            r.set_ResourceType(resource_type)
        r.set_ResourceIds(list(ids))
        if tags is not None:
            r.set_Tags([{"Key": k, "Value": v} for k, v in tags])
        return self._do(r, region, method)

    def untag(self, ids, keys=None, all_=None, resource_type="INSTANCE", region=None, method=None) -> dict:
        from aliyunsdkrds.request.v20140815 import UntagResourcesRequest

        r = UntagResourcesRequest.UntagResourcesRequest()
        r.set_ResourceType(resource_type)
        r.set_ResourceIds(list(ids))
        if keys is not None:
            r.set_TagKeys(list(keys))
        if all_ is not None:
            r.set_All(all_)
        return self._do(r, region, method)

    def list(self, ids=None, tags=None, token=None, resource_type="INSTANCE", region=None, method=None) -> dict:
        from aliyunsdkrds.request.v20140815 import ListTagResourcesRequest

        r = ListTagResourcesRequest.ListTagResourcesRequest()
        r.set_ResourceType(resource_type)
        if ids:
            r.set_ResourceIds(list(ids))
        if tags:
            r.set_Tags([{"Key": k, "Value": v} for k, v in tags])
        if token is not None:
            r.set_NextToken(token)
        return self._do(r, region, method)

    def rows(self, ids=None, tags=None, resource_type="INSTANCE", region=None, expect_type=RDS_TYPE) -> list:
        out, token = [], None
        for _ in range(1000):
            body = self.list(ids, tags, token, resource_type, region)
            assert body["RequestId"]
            page = body["TagResources"]["TagResource"]
            assert len(page) <= 50
            for row in page:
                assert row["ResourceType"] == expect_type, row
                out.append((row["ResourceId"], row["TagKey"], row["TagValue"]))
            token = body["NextToken"]
            if token == "":
                return out
        raise AssertionError("paging does not end")


class TeaRds:
    """alibabacloud_rds20140815 on alibabacloud-tea-openapi: V3 by default, V1 with v2=True (spec §5.2)."""

    def __init__(self, server: TagdServer, ak: str, secret: str, v2: bool):
        from alibabacloud_rds20140815.client import Client
        from alibabacloud_tea_openapi import utils_models as om
        from darabonba.runtime import RuntimeOptions

        kw = dict(access_key_id=ak, access_key_secret=secret, region_id=REGION,
                  endpoint=server.endpoint, protocol="http")
        if v2:
            kw["signature_algorithm"] = "v2"
        self.client = Client(om.Config(**kw))
        self.runtime = RuntimeOptions()

    @staticmethod
    def models():
        from alibabacloud_rds20140815 import models

        return models

    def tag(self, ids, tags, region=REGION, resource_type="INSTANCE"):
        m = self.models()
        req = m.TagResourcesRequest(region_id=region, resource_type=resource_type, resource_id=list(ids),
                                    tag=[m.TagResourcesRequestTag(key=k, value=v) for k, v in tags] if tags else None)
        return self.client.tag_resources_with_options(req, self.runtime)

    def untag(self, ids, keys=None, all_=None, region=REGION, resource_type="INSTANCE"):
        m = self.models()
        req = m.UntagResourcesRequest(region_id=region, resource_type=resource_type, resource_id=list(ids),
                                      tag_key=list(keys) if keys is not None else None, all=all_)
        return self.client.untag_resources_with_options(req, self.runtime)

    def list(self, ids=None, tags=None, token=None, region=REGION, resource_type="INSTANCE"):
        m = self.models()
        req = m.ListTagResourcesRequest(
            region_id=region, resource_type=resource_type, resource_id=list(ids) if ids else None,
            tag=[m.ListTagResourcesRequestTag(key=k, value=v) for k, v in tags] if tags else None,
            next_token=token)
        return self.client.list_tag_resources_with_options(req, self.runtime)

    def rows(self, ids=None, tags=None, region=REGION, resource_type="INSTANCE") -> list:
        out, token = [], None
        for _ in range(1000):
            resp = self.list(ids, tags, token, region, resource_type)
            assert resp.status_code == 200
            page = resp.body.tag_resources.tag_resource
            assert len(page) <= 50
            for row in page:
                assert row.resource_type == RDS_TYPE
                out.append((row.resource_id, row.tag_key, row.tag_value))
            token = resp.body.next_token
            assert token is not None, "ListTagResources without NextToken"
            if token == "":
                return out
        raise AssertionError("paging does not end")


