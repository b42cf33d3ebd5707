"""Helpers of the end-to-end harness: a real `tagd serve` process driven by Alibaba's real Python SDKs.

Environment:
  TAGD_BIN                path to the built tagd binary (default: <repo>/target/debug/tagd).
  TAGD_TEST_ENGINE        `embedded` (default) or `postgres`: every server of the suite then keeps its data in a
                          schema of its own in TAGD_TEST_DATABASE_URL, created and dropped around it.
  TAGD_TEST_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/test.

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

ENGINE = os.environ.get("TAGD_TEST_ENGINE", "embedded")
assert ENGINE in ("embedded", "postgres"), f"TAGD_TEST_ENGINE={ENGINE!r}: want embedded or postgres"
DATABASE_URL = os.environ.get("TAGD_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def psql(sql: str) -> None:
    """Runs `sql` on TAGD_TEST_DATABASE_URL (schemas of the postgres engine's servers)."""
    p = subprocess.run(["psql", DATABASE_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"psql {sql!r}: {p.stderr}"


def new_schema() -> str:
    """A fresh schema for one server's data; its URL for `--database-url` is `schema_url(name)`."""
    name = f"tagd_e2e_{uuid.uuid4().hex[:12]}"
    psql(f"CREATE SCHEMA {name}")
    return name


def schema_url(schema: str) -> str:
    sep = "&" if "?" in DATABASE_URL else "?"
    return f"{DATABASE_URL}{sep}options[search_path]={schema}"


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

    def __init__(self, binary: str, workdir: pathlib.Path, extra_args=(), extra_env=None):
        self.binary = binary
        self.extra_env = dict(extra_env or {})
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
        # With the postgres engine, the server and the admin commands both work on this schema. A key changed
        # through the CLI then reaches the server by its credential cache's expiry: 0 s here, so that tests see
        # the change at once (test_postgres_nodes checks a real expiry).
        self.schema = new_schema() if ENGINE == "postgres" else None
        self.engine_env = {} if self.schema is None else {
            "TAGD_DATABASE_URL": schema_url(self.schema),
            "TAGD_CREDENTIAL_CACHE_SECS": "0",
        }

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
        env = _clean_env()
        env.update(self.engine_env)
        env.update(self.extra_env)
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
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
        if self.schema is not None:
            psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            self.schema = None

    # -- the CLI on the same data dir ---------------------------------------------------------

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [self.binary, *args, "--data-dir", str(self.data_dir)]
        env = _clean_env()
        env.update(self.engine_env)
        if "TAGD_DATABASE_URL" in self.extra_env:  # a server put on a database by its test
            env["TAGD_DATABASE_URL"] = self.extra_env["TAGD_DATABASE_URL"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
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


def spawn_server(tagd_bin: str, tmp_path_factory, *extra_args: str, start: bool = True,
                 env: dict | None = None) -> TagdServer:
    """env: extra environment variables of the server process (e.g. TAGD_BCE_TAG_QUOTA)."""
    s = TagdServer(tagd_bin, tmp_path_factory.mktemp("tagd"), extra_args, env)
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
           omit=(), headers=None) -> RawResponse:
        """V1 (HMAC-SHA1) request. `params` go in the query, `body` (pairs) in a form body.
        `headers`: extra HTTP headers (V1 signs none of them)."""
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
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = form_encode(body_pairs, plus_for_space).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        resp = self.session.request(method, url, data=data, headers=headers, timeout=15)
        return RawResponse(resp, sts)

    def v3(self, action, params=None, *, method="POST", version=RDS_VERSION, body=None, body_bytes=None,
           content_sha256=None, nonce=None, date=None, secret=None, ak=None, unsigned=()) -> RawResponse:
        """V3 (ACS3-HMAC-SHA256) request. `params` in the query; `body` (pairs) as a form body.
        `unsigned`: header names sent but left out of SignedHeaders."""
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
        signed = sorted(h for h in headers if h not in unsigned)
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




# ============================================================================================
# Tag service (2018-08-28): docs/aliyun-tag-service.md on top of shared/spec/aliyun.md §3
# ============================================================================================

TAG_VERSION = "2018-08-28"
TAG_HOST_ID = "tag.aliyuncs.com"

# docs/aliyun-tag-service.md, "Errors": code -> (HTTP status, fixed message or None when it names an input).
TAG_ERRORS = {
    "MissingParameter.RegionId": (400, "The parameter - RegionId should not be null"),
    "MissingParameter.ResourceARN": (400, "The parameter - ResourceARN should not be null"),
    "MissingParameter.Tags": (400, "The parameter - Tags should not be null"),
    "InvalidParameter.Tags": (400, "The Tags parameter cannot be empty, and JSON parsing should adhere to the "
                                   "format of a Map."),
    "NumberExceed.Tags": (403, "The maximum number of Tags is exceeded."),
    "NumberExceed.ResourceIds": (403, "The maximum number of ResourceIds is exceeded."),
    "Duplicate.TagKey": (403, "The Tag.N.Key contains duplicate keys."),
    "NoPermission.SystemTag": (403, "The user does not have permission to operate the system tag."),
    "InvalidParameter.TagKey": (400, None),
    "InvalidParameter.TagValue": (400, None),
    "InvalidResourceARN.FormatError": (400, None),
    "InvalidResourceARN.Region": (400, None),
    "InvalidResourceARN.Account": (400, None),
    "MissingParameter.TagKey": (400, "You must specify TagKey."),
    "InvalidParameter.Category": (403, "The Category parameter is invalid."),
    "InvalidParameter.ResourceType": (403, "The ResourceType parameter is invalid."),
    "InvalidParameter": (400, None),
    "FuzzyQuery.NotSupport": (400, "The specified FuzzyType is not supported."),
    "Invalid.NextToken": (403, "The parameter NextToken is invalid."),
    "MissingParameter.TagKeyValueParamList": (400, "The parameter - TagKeyValueParamList should not be null"),
    "MissingParameter.Key": (400, "The parameter - Key should not be null"),
    "MissingParameter.Value": (400, "The parameter - Value should not be null"),
    "InvalidParameter.Key": (403, "The Key parameter is invalid."),
    "InvalidParameter.Value": (403, "The Value parameter is invalid."),
    "MetaTagKeyNotFound": (403, "The meta tag key is not found."),
    "MetaTagKeyHasValue": (400, "The specified TagKey already bind tag value"),
    "MissingParameter.ResourceType": (400, "The parameter - ResourceType should not be null"),
    "MissingParameter.TagFilter.Key": (400, "The parameter - TagFilter.Key should not be null"),
}

# Per-resource failures (HTTP 200, FailedResources.FailedResource[].Result).
MSG_QUOTA_PER_RESOURCE = "The maximum number of tags for each resource is exceeded."
MSG_RESOURCE_NOT_FOUND = "The specified ResourceIds are not found in our records."


def msg_tag_key(key: str) -> str:
    return f"The TagKey parameter  is invalid. The following TagKeys are invalid: {key}."


def msg_tag_value(value: str) -> str:
    return f"The TagValue parameter is invalid. The following TagValues are invalid: {value}."


def msg_arn_format(a: str) -> str:
    return (f"The format of parameter ResourceARN: {a} is not valid, the correct format is "
            "arn:acs:${Service}:${Region}:${Account}:${ResourceType}/${ResourceId}.")


def msg_arn_region(a: str) -> str:
    return f"The region of parameter ResourceARN does not match the RegionId parameter, specifically: {a}."


def msg_arn_account(a: str) -> str:
    return f"The account of parameter ResourceARN does not match the caller, specifically: {a}."


def msg_invalid_parameter(name: str) -> str:
    return f'The specified parameter "{name}" is not valid.'


def arn(product: str, rtype: str, resource_id: str, region: str = REGION, account: str = "*",
        prefix: str = "arn:") -> str:
    """An ARN as a caller writes it: `[arn:]acs:<product>:<region|*>:<account|*>:<type>/<id>`."""
    return f"{prefix}acs:{product}:{region}:{account}:{rtype}/{resource_id}"


def canonical_arn(product: str, rtype: str, resource_id: str, account: str, region: str = REGION) -> str:
    """The ARN tagd answers with: `arn:acs:<product>:<region>:<account id>:<type>/<id>`, lower-case names."""
    return f"arn:acs:{product.lower()}:{region}:{account}:{rtype.lower()}/{resource_id}"


def tags_json(tags) -> str:
    """`Tags` travels as a JSON object in a string; a str is sent verbatim (for malformed inputs)."""
    return tags if isinstance(tags, str) else json.dumps(tags)


class TagError(AssertionError):
    """A Tag-service error as any client saw it: HTTP status, Code, Message and (when known) the body."""

    def __init__(self, status: int, code: str, message: str, body: dict | None, via: str):
        super().__init__(f"{via}: HTTP {status} {code}: {message} {body!r}")
        self.status, self.code, self.message, self.body, self.via = status, code, message, body, via


def expect_tag_error(fn, code: str, message: str | None = None, status: int | None = None) -> TagError:
    """Run fn; it must fail with `code`, the contract's HTTP status and message (or the given ones)."""
    want_status, want_message = TAG_ERRORS.get(code, (None, None))
    status = status if status is not None else want_status
    message = message if message is not None else want_message
    assert status is not None, f"no HTTP status known for {code}"
    try:
        got = fn()
    except TagError as e:
        assert (e.status, e.code) == (status, code), f"expected HTTP {status} {code}, got {e}"
        if message is not None:
            assert e.message == message, f"expected message {message!r}, got {e.message!r} ({e.via})"
        if e.body is not None:
            assert_error_fields(e.body, repr(e.body))
            assert e.body["HostId"] == TAG_HOST_ID, e.body
        return e
    raise AssertionError(f"expected HTTP {status} {code}, but the call succeeded: {got!r}")


def _flatten_tag_resources(body: dict) -> list:
    out = []
    for r in body["TagResources"]:
        out.append((r["ResourceARN"], sorted((t["Key"], t["Value"], t["Category"]) for t in r["Tags"])))
    return out


class TagApi:
    """One Tag-service client. Every call returns the response body as a dict (JSON names) or raises TagError.

    Subclasses: RawTag (hand-signed V1/V3), LegacyTag (aliyun-python-sdk-tag), TeaTag (alibabacloud_tag20180828).
    """

    name = "?"

    # -- the eight operations (implemented by subclasses) --------------------------------------

    def tag(self, arns, tags, region=REGION) -> dict:
        raise NotImplementedError

    def untag(self, arns, keys, region=REGION) -> dict:
        raise NotImplementedError

    def list_resources(self, arns=None, tags=None, category=None, page_size=None, token=None,
                       region=REGION) -> dict:
        raise NotImplementedError

    def list_keys(self, query_type=None, category=None, resource_type=None, fuzzy_type=None, key_filter=None,
                  page_size=None, token=None, region=REGION) -> dict:
        raise NotImplementedError

    def list_values(self, key, query_type=None, resource_type=None, fuzzy_type=None, value_filter=None,
                    page_size=None, token=None, region=REGION) -> dict:
        raise NotImplementedError

    def create_tags(self, entries, region=REGION) -> dict:
        """entries: [{"Key", "Description"?, "TagValueParamList"?: [{"Value", "Description"?}]}]"""
        raise NotImplementedError

    def delete_tag(self, key, value=None, region=REGION) -> dict:
        raise NotImplementedError

    def by_tag(self, resource_type, key, value=None, fuzzy_type=None, include_all_tags=None, max_result=None,
               token=None, region=REGION) -> dict:
        raise NotImplementedError

    # -- conveniences over every page ----------------------------------------------------------

    def tag_ok(self, arns, tags, region=REGION) -> dict:
        body = self.tag(arns, tags, region)
        assert body.get("RequestId"), body
        assert "FailedResources" not in body, f"full success must omit FailedResources: {body!r}"
        return body

    def _pages(self, fetch, items_of, page_size, max_pages=2000):
        """Collect every page: [(items, token)]. A non-final page holds exactly page_size items."""
        pages, token = [], None
        limit = page_size if page_size is not None else 50
        for _ in range(max_pages):
            body = fetch(token)
            assert body.get("RequestId"), body
            assert "NextToken" in body, f"no NextToken in {body!r}"
            items = items_of(body)
            token = body["NextToken"]
            assert isinstance(token, str), body
            assert len(items) <= limit, f"page of {len(items)} items, page size {limit}"
            pages.append((items, token))
            if token == "":
                break
        else:
            raise AssertionError("paging does not end")
        for items, _ in pages[:-1]:
            assert len(items) == limit, f"a non-final page holds {len(items)} items, page size {limit}: {pages!r}"
        return pages

    def all_resources(self, arns=None, tags=None, category=None, page_size=None, region=REGION,
                      pages_out=None) -> list:
        """[(ResourceARN, sorted [(Key, Value, Category)])] over every page; no resource twice."""
        pages = self._pages(
            lambda t: self.list_resources(arns, tags, category, page_size, t, region),
            _flatten_tag_resources, page_size)
        if pages_out is not None:
            pages_out.extend(pages)
        out = [r for items, _ in pages for r in items]
        arns_seen = [a for a, _ in out]
        assert len(arns_seen) == len(set(arns_seen)), f"a resource listed twice: {arns_seen}"
        return out

    def tags_of(self, arn_, region=REGION) -> dict:
        """{key: value} of one resource (read through ListTagResources)."""
        rows = self.all_resources(arns=[arn_], region=region)
        assert len(rows) <= 1, rows
        return {k: v for k, v, _ in rows[0][1]} if rows else {}

    def all_keys(self, query_type=None, category=None, resource_type=None, fuzzy_type=None, key_filter=None,
                 page_size=None, region=REGION, pages_out=None) -> list:
        """[{"Key","Category","Description"}] over every page, in server order; no key twice."""
        pages = self._pages(
            lambda t: self.list_keys(query_type, category, resource_type, fuzzy_type, key_filter, page_size, t,
                                     region),
            lambda b: b["Keys"]["Key"], page_size)
        if pages_out is not None:
            pages_out.extend(pages)
        out = [k for items, _ in pages for k in items]
        names = [k["Key"] for k in out]
        assert len(names) == len(set(names)), f"a key listed twice: {names}"
        return out

    def key_names(self, **kw) -> list:
        return [k["Key"] for k in self.all_keys(**kw)]

    def all_values(self, key, query_type=None, resource_type=None, fuzzy_type=None, value_filter=None,
                   page_size=None, region=REGION, pages_out=None) -> list:
        pages = self._pages(
            lambda t: self.list_values(key, query_type, resource_type, fuzzy_type, value_filter, page_size, t,
                                       region),
            lambda b: b["Values"]["Value"], page_size)
        if pages_out is not None:
            pages_out.extend(pages)
        out = [v for items, _ in pages for v in items]
        assert len(out) == len(set(out)), f"a value listed twice: {out}"
        return out

    def all_by_tag(self, resource_type, key, value=None, include_all_tags=None, max_result=None, region=REGION,
                   pages_out=None) -> list:
        """[(ResourceId, sorted [(Key, Value, Category)])] over every page, sorted; no resource twice."""
        pages = self._pages(
            lambda t: self.by_tag(resource_type, key, value, None, include_all_tags, max_result, t, region),
            lambda b: [(r["ResourceId"], sorted((t["Key"], t["Value"], t["Category"]) for t in r["Tags"]))
                       for r in b["Resources"]],
            max_result)
        if pages_out is not None:
            pages_out.extend(pages)
        out = [r for items, _ in pages for r in items]
        ids = [r for r, _ in out]
        assert len(ids) == len(set(ids)), f"a resource listed twice: {ids}"
        return sorted(out)

    def snapshot(self, region=REGION) -> dict:
        """Everything a caller can read in one region: resources, the catalogue, preset keys and values."""
        meta = self.all_keys(query_type="MetaTag", page_size=1000, region=region)
        return {
            "resources": self.all_resources(page_size=1000, region=region),
            "keys": self.all_keys(page_size=1000, region=region),
            "meta": meta,
            "meta_values": {k["Key"]: self.all_values(k["Key"], query_type="MetaTag", page_size=1000,
                                                      region=region) for k in meta},
        }


def _opt(pairs: list, name: str, value) -> None:
    if value is not None:
        pairs.append((name, value if isinstance(value, str) else str(value).lower() if isinstance(value, bool)
                      else str(value)))


def tag_service_params(action: str, region=REGION, arns=None, tags=None, keys=None, **kw) -> list:
    """API parameters of a Tag-service action as (name, value) pairs (RawTag)."""
    p = []
    _opt(p, "RegionId", region)
    for i, a in enumerate(arns or (), 1):
        p.append((f"ResourceARN.{i}", a))
    if tags is not None:
        p.append(("Tags", tags_json(tags)))
    for i, k in enumerate(keys or (), 1):
        p.append((f"TagKey.{i}", k))
    names = {
        "category": "Category", "page_size": "PageSize", "token": "NextToken", "query_type": "QueryType",
        "resource_type": "ResourceType", "fuzzy_type": "FuzzyType", "key_filter": "TagFilter.Key",
        "value_filter": "TagFilter.Value", "key": "Key", "value": "Value", "include_all_tags": "IncludeAllTags",
        "max_result": "MaxResult",
    }
    entries = kw.pop("entries", None)
    for k, v in kw.items():
        _opt(p, names[k], v)
    for i, e in enumerate(entries or (), 1):
        pre = f"TagKeyValueParamList.{i}"
        _opt(p, f"{pre}.Key", e.get("Key"))
        _opt(p, f"{pre}.Description", e.get("Description"))
        for j, v in enumerate(e.get("TagValueParamList") or (), 1):
            _opt(p, f"{pre}.TagValueParamList.{j}.Value", v.get("Value"))
            _opt(p, f"{pre}.TagValueParamList.{j}.Description", v.get("Description"))
    return p


class RawTag(TagApi):
    """Hand-signed Tag-service requests (V1 with Format=JSON, or V3), parameters in the query."""

    def __init__(self, server: TagdServer, ak: str = ROOT_AK, secret: str = ROOT_SECRET, signer: str = "v1"):
        assert signer in ("v1", "v3")
        self.raw = RawClient(server, ak, secret)
        self.signer = signer
        self.name = f"raw-{signer}"
        self.last: RawResponse | None = None

    def send(self, action: str, params) -> RawResponse:
        if self.signer == "v1":
            r = self.raw.v1(action, params, version=TAG_VERSION)
        else:
            r = self.raw.v3(action, params, version=TAG_VERSION)
        self.last = r
        return r

    def call(self, action: str, params) -> dict:
        r = self.send(action, params)
        if r.status == 200:
            assert r.content_type.replace(" ", "").lower() == "application/json;charset=utf-8", r
            body = r.json()
            assert isinstance(body, dict) and body.get("RequestId"), r
            return body
        assert r.content_type.replace(" ", "").lower() == "application/json;charset=utf-8", r
        body = r.json()
        assert_error_fields(body, repr(r))
        raise TagError(r.status, body["Code"], body["Message"], body, self.name)

    def tag(self, arns, tags, region=REGION):
        return self.call("TagResources", tag_service_params("TagResources", region, arns, tags))

    def untag(self, arns, keys, region=REGION):
        return self.call("UntagResources", tag_service_params("UntagResources", region, arns, keys=keys))

    def list_resources(self, arns=None, tags=None, category=None, page_size=None, token=None, region=REGION):
        return self.call("ListTagResources", tag_service_params(
            "ListTagResources", region, arns, tags, category=category, page_size=page_size, token=token))

    def list_keys(self, query_type=None, category=None, resource_type=None, fuzzy_type=None, key_filter=None,
                  page_size=None, token=None, region=REGION):
        return self.call("ListTagKeys", tag_service_params(
            "ListTagKeys", region, query_type=query_type, category=category, resource_type=resource_type,
            fuzzy_type=fuzzy_type, key_filter=key_filter, page_size=page_size, token=token))

    def list_values(self, key, query_type=None, resource_type=None, fuzzy_type=None, value_filter=None,
                    page_size=None, token=None, region=REGION):
        return self.call("ListTagValues", tag_service_params(
            "ListTagValues", region, key=key, query_type=query_type, resource_type=resource_type,
            fuzzy_type=fuzzy_type, value_filter=value_filter, page_size=page_size, token=token))

    def create_tags(self, entries, region=REGION):
        return self.call("CreateTags", tag_service_params("CreateTags", region, entries=entries))

    def delete_tag(self, key, value=None, region=REGION):
        return self.call("DeleteTag", tag_service_params("DeleteTag", region, key=key, value=value))

    def by_tag(self, resource_type, key, value=None, fuzzy_type=None, include_all_tags=None, max_result=None,
               token=None, region=REGION):
        return self.call("ListResourcesByTag", tag_service_params(
            "ListResourcesByTag", region, resource_type=resource_type, key_filter=key, value_filter=value,
            fuzzy_type=fuzzy_type, include_all_tags=include_all_tags, max_result=max_result, token=token))


class LegacyTag(TagApi):
    """aliyun-python-sdk-core + aliyun-python-sdk-tag (aliyunsdktag.request.v20180828), V1 signature."""

    name = "legacy"

    def __init__(self, server: TagdServer, ak: str = ROOT_AK, secret: str = ROOT_SECRET, region: str = REGION):
        from aliyunsdkcore.client import AcsClient

        self.server = server
        self.client = AcsClient(ak, secret, region, auto_retry=False)

    def _do(self, req, region) -> dict:
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        req.set_endpoint(self.server.endpoint)
        req.set_protocol_type("http")
        if region is not None:
            req.add_query_param("RegionId", region)
        try:
            raw = self.client.do_action_with_exception(req)
        except ServerException as e:
            raise TagError(e.get_http_status(), e.get_error_code(), e.get_error_msg(), None, self.name) from None
        body = json.loads(raw)
        assert isinstance(body, dict) and body.get("RequestId"), body
        return body

    @staticmethod
    def _req(name):
        import importlib

        mod = importlib.import_module(f"aliyunsdktag.request.v20180828.{name}Request")
        return getattr(mod, f"{name}Request")()

    def tag(self, arns, tags, region=REGION):
        r = self._req("TagResources")
        r.set_ResourceARNs(list(arns))
        if tags is not None:
            r.set_Tags(tags_json(tags))
        return self._do(r, region)

    def untag(self, arns, keys, region=REGION):
        r = self._req("UntagResources")
        r.set_ResourceARNs(list(arns))
        if keys is not None:
            r.set_TagKeys(list(keys))
        return self._do(r, region)

    def list_resources(self, arns=None, tags=None, category=None, page_size=None, token=None, region=REGION):
        r = self._req("ListTagResources")
        if arns:
            r.set_ResourceARNs(list(arns))
        if tags is not None:
            r.set_Tags(tags_json(tags))
        if category is not None:
            r.set_Category(category)
        if page_size is not None:
            r.set_PageSize(page_size)
        if token is not None:
            r.set_NextToken(token)
        return self._do(r, region)

    def list_keys(self, query_type=None, category=None, resource_type=None, fuzzy_type=None, key_filter=None,
                  page_size=None, token=None, region=REGION):
        r = self._req("ListTagKeys")
        for setter, v in ((r.set_QueryType, query_type), (r.set_Category, category),
                          (r.set_ResourceType, resource_type), (r.set_FuzzyType, fuzzy_type),
                          (r.set_TagFilterKey, key_filter), (r.set_PageSize, page_size), (r.set_NextToken, token)):
            if v is not None:
                setter(v)
        return self._do(r, region)

    def list_values(self, key, query_type=None, resource_type=None, fuzzy_type=None, value_filter=None,
                    page_size=None, token=None, region=REGION):
        r = self._req("ListTagValues")
        for setter, v in ((r.set_Key, key), (r.set_QueryType, query_type), (r.set_ResourceType, resource_type),
                          (r.set_FuzzyType, fuzzy_type), (r.set_TagFilterValue, value_filter),
                          (r.set_PageSize, page_size), (r.set_NextToken, token)):
            if v is not None:
                setter(v)
        return self._do(r, region)

    def create_tags(self, entries, region=REGION):
        r = self._req("CreateTags")
        if entries:
            r.set_TagKeyValueParamLists(list(entries))
        return self._do(r, region)

    def delete_tag(self, key, value=None, region=REGION):
        r = self._req("DeleteTag")
        if key is not None:
            r.set_Key(key)
        if value is not None:
            r.set_Value(value)
        return self._do(r, region)

    def by_tag(self, resource_type, key, value=None, fuzzy_type=None, include_all_tags=None, max_result=None,
               token=None, region=REGION):
        r = self._req("ListResourcesByTag")
        for setter, v in ((r.set_ResourceType, resource_type), (r.set_TagFilterKey, key),
                          (r.set_TagFilterValue, value), (r.set_FuzzyType, fuzzy_type),
                          (r.set_IncludeAllTags, include_all_tags), (r.set_MaxResult, max_result),
                          (r.set_NextToken, token)):
            if v is not None:
                setter(v)
        return self._do(r, region)


class TeaTag(TagApi):
    """alibabacloud_tag20180828 on alibabacloud-tea-openapi: V3 by default, V1 with v2=True (spec §5.2).

    Calls return resp.body.to_map(); the parsed model of the last call is kept in .last.
    """

    def __init__(self, server: TagdServer, ak: str = ROOT_AK, secret: str = ROOT_SECRET, v2: bool = False):
        from alibabacloud_tag20180828.client import Client
        from alibabacloud_tea_openapi import utils_models as om
        from darabonba.runtime import RuntimeOptions

        kw = dict(access_key_id=ak, access_key_secret=secret, region_id=REGION,
                  endpoint=server.endpoint, protocol="http")
        if v2:
            kw["signature_algorithm"] = "v2"
        self.name = "tea-v2" if v2 else "tea"
        self.client = Client(om.Config(**kw))
        self.runtime = RuntimeOptions()
        self.last = None

    @staticmethod
    def models():
        from alibabacloud_tag20180828 import models

        return models

    def _do(self, fn, req) -> dict:
        from alibabacloud_tea_openapi.exceptions import ClientException, ServerException

        try:
            resp = fn(req, self.runtime)
        except (ClientException, ServerException) as e:
            data = dict(e.data or {})
            data.pop("statusCode", None)
            raise TagError(e.status_code, e.code, data.get("Message"), data, self.name) from None
        assert resp.status_code == 200, resp
        self.last = resp
        body = resp.body.to_map()
        assert body.get("RequestId"), body
        return body

    def tag(self, arns, tags, region=REGION):
        m = self.models()
        req = m.TagResourcesRequest(region_id=region, resource_arn=list(arns),
                                    tags=tags_json(tags) if tags is not None else None)
        return self._do(self.client.tag_resources_with_options, req)

    def untag(self, arns, keys, region=REGION):
        m = self.models()
        req = m.UntagResourcesRequest(region_id=region, resource_arn=list(arns),
                                      tag_key=list(keys) if keys is not None else None)
        return self._do(self.client.untag_resources_with_options, req)

    def list_resources(self, arns=None, tags=None, category=None, page_size=None, token=None, region=REGION):
        m = self.models()
        req = m.ListTagResourcesRequest(region_id=region, resource_arn=list(arns) if arns else None,
                                        tags=tags_json(tags) if tags is not None else None, category=category,
                                        page_size=page_size, next_token=token)
        return self._do(self.client.list_tag_resources_with_options, req)

    def list_keys(self, query_type=None, category=None, resource_type=None, fuzzy_type=None, key_filter=None,
                  page_size=None, token=None, region=REGION):
        m = self.models()
        req = m.ListTagKeysRequest(
            region_id=region, query_type=query_type, category=category, resource_type=resource_type,
            fuzzy_type=fuzzy_type, page_size=page_size, next_token=token,
            tag_filter=m.ListTagKeysRequestTagFilter(key=key_filter) if key_filter is not None else None)
        return self._do(self.client.list_tag_keys_with_options, req)

    def list_values(self, key, query_type=None, resource_type=None, fuzzy_type=None, value_filter=None,
                    page_size=None, token=None, region=REGION):
        m = self.models()
        req = m.ListTagValuesRequest(
            region_id=region, key=key, query_type=query_type, resource_type=resource_type, fuzzy_type=fuzzy_type,
            page_size=page_size, next_token=token,
            tag_filter=m.ListTagValuesRequestTagFilter(value=value_filter) if value_filter is not None else None)
        return self._do(self.client.list_tag_values_with_options, req)

    def create_tags(self, entries, region=REGION):
        m = self.models()
        lst = None
        if entries:
            lst = [m.CreateTagsRequestTagKeyValueParamList(
                key=e.get("Key"), description=e.get("Description"),
                tag_value_param_list=[m.CreateTagsRequestTagKeyValueParamListTagValueParamList(
                    value=v.get("Value"), description=v.get("Description")) for v in e["TagValueParamList"]]
                if e.get("TagValueParamList") else None) for e in entries]
        req = m.CreateTagsRequest(region_id=region, tag_key_value_param_list=lst)
        return self._do(self.client.create_tags_with_options, req)

    def delete_tag(self, key, value=None, region=REGION):
        m = self.models()
        return self._do(self.client.delete_tag_with_options, m.DeleteTagRequest(region_id=region, key=key,
                                                                                value=value))

    def by_tag(self, resource_type, key, value=None, fuzzy_type=None, include_all_tags=None, max_result=None,
               token=None, region=REGION):
        m = self.models()
        tf = None
        if key is not None or value is not None:
            tf = m.ListResourcesByTagRequestTagFilter(key=key, value=value)
        req = m.ListResourcesByTagRequest(region_id=region, resource_type=resource_type, tag_filter=tf,
                                          fuzzy_type=fuzzy_type, include_all_tags=include_all_tags,
                                          max_result=max_result, next_token=token)
        return self._do(self.client.list_resources_by_tag_with_options, req)


def tag_client(server: TagdServer, kind: str, ak: str = ROOT_AK, secret: str = ROOT_SECRET) -> TagApi:
    """kind: legacy | tea (V3) | tea-v2 (V1) | raw-v1 | raw-v3."""
    if kind == "legacy":
        return LegacyTag(server, ak, secret)
    if kind == "tea":
        return TeaTag(server, ak, secret)
    if kind == "tea-v2":
        return TeaTag(server, ak, secret, v2=True)
    if kind in ("raw-v1", "raw-v3"):
        return RawTag(server, ak, secret, kind[4:])
    raise ValueError(kind)


def root_account_id(server: TagdServer) -> str:
    """The root account's 16-digit id (`tagd account list --json`)."""
    accounts = server.cli_json("account", "list", "--json")
    roots = [a for a in accounts if a.get("root")]
    assert len(roots) == 1, f"account list --json: {accounts!r}"
    acct = roots[0]["account_id"]
    assert re.fullmatch(r"[0-9]{16}", acct), f"root account id {acct!r} is not 16 digits"
    return acct


class TagAccount:
    """A fresh account on a server (its own resources, catalogue and preset tags) plus its Tag clients."""

    def __init__(self, server: TagdServer, name: str | None = None):
        made = server.create_account(name or ("tag-" + uid(8)))
        self.server = server
        self.id = made["account_id"]
        assert re.fullmatch(r"[0-9]{16}", self.id), f"account id {self.id!r} is not 16 digits"
        self.ak = made["access_key_id"]
        self.secret = made["access_key_secret"]

    def client(self, kind: str = "raw-v1") -> TagApi:
        return tag_client(self.server, kind, self.ak, self.secret)

    def rds(self) -> RawClient:
        """Hand-signed RDS 2014-08-15 requests as this account."""
        return self.server.raw(self.ak, self.secret)

    def arn(self, product: str, rtype: str, resource_id: str, region: str = REGION) -> str:
        return canonical_arn(product, rtype, resource_id, self.id, region)


# ============================================================================================
# Baidu AI Cloud Tag API (bce-auth-v1): shared/spec/bce.md and docs/baidu.md
# ============================================================================================

import functools  # noqa: E402
import http.client as _http_client  # noqa: E402  (the Baidu helpers speak HTTP byte by byte)
import socket as _socket  # noqa: E402

# Spec §3.2 (the seed, verbatim) and §3.3: code -> (HTTP status, message). RequestExpired's message
# names the request's timestamp: bce_expired_message(ts).
BCE_ERRORS = {
    "TagExceptions.TagKeyInvalid": (400, "Tag key contains invalid characters or length exceeds limit."),
    "TagExceptions.TagValueInvalid": (400, "Tag value contains invalid characters or length exceeds limit."),
    "TagExceptions.TagKeyEmpty": (400, "Tag key should not be empty."),
    "TagExceptions.TagEmpty": (400, "Tag should not be empty."),
    "TagExceptions.LimitExceeded": (413, "Limit exceeded for current request."),
    "AccessDenied": (403, "Access denied."),
    "InappropriateJSON": (400, "The JSON you provided was well-formed and valid, but not appropriate for this "
                               "operation."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The Access Key ID you provided does not exist in our records."),
    "InvalidHTTPAuthHeader": (400, "The HTTP authorization header is invalid. Consult the service documentation "
                                   "for details."),
    "InvalidHTTPRequest": (400, "There was an error in the body of your HTTP request."),
    "InvalidURI": (400, "Could not parse the specified URI."),
    "MalformedJSON": (400, "The JSON you provided was not well-formed."),
    "InvalidVersion": (404, "The API version specified was invalid."),
    "SignatureDoesNotMatch": (400, "The request signature we calculated does not match the signature you "
                                   "provided. Check your Secret Access Key and signing method. Consult the "
                                   "service documentation for details."),
    "RequestExpired": (400, None),
    # Spec §3.4: tagd's own codes; their messages are not part of the contract (any non-empty string).
    "NotFound": (404, None),
    "MethodNotAllowed": (405, None),
}

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
BCE_JSON_CT = "application/json; charset=utf-8"
PY_SDK_UA = "bce-sdk-python/0.9.79/3.11.7/linux"


def bce_expired_message(ts: str) -> str:
    return f"Request has expired. Timestamp date is {ts}."


# -- signing: spec §4.2, written from the spec (checked against §4.5 in test_bce_wire.py) --------------

def bce_uri_encode(s, keep_slash: bool = False) -> str:
    """UriEncode of §4.2: UTF-8 bytes, keep A-Z a-z 0-9 - _ . ~ (and `/` when asked), %XX uppercase."""
    if isinstance(s, bytes):
        s = s.decode("utf-8")
    out = []
    for b in str(s).encode("utf-8"):
        c = chr(b)
        if (c.isascii() and c.isalnum()) or c in "-_.~" or (keep_slash and c == "/"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def bce_canonical_query(query) -> str:
    """[(key, value or None)] -> the canonical query string; a bare flag and `k=` both give `k=`."""
    items = [f"{bce_uri_encode(k)}={bce_uri_encode(v or '')}" for k, v in (query or [])
             if str(k).lower() != "authorization"]
    return "&".join(sorted(items))


def bce_default_names(headers, go: bool = False) -> list:
    """The default header set over the headers present (§4.2); Go leaves x-bce-request-id out (§4.3)."""
    names = set()
    for k, v in _pairs(headers):
        n = k.strip().lower()
        if not str(v).strip():
            continue
        if n in ("host", "content-length", "content-type", "content-md5") or n.startswith("x-bce-"):
            if go and n == "x-bce-request-id":
                continue
            names.add(n)
    return sorted(names)


def bce_canonical_headers(headers, names) -> str:
    low = {}
    for k, v in _pairs(headers):
        low[k.strip().lower()] = str(v).strip()
    lines = [f"{bce_uri_encode(n)}:{bce_uri_encode(low[n])}" for n in names if low.get(n)]
    return "\n".join(sorted(lines))


class BceSignature:
    def __init__(self, prefix, signing_key, canonical_request, signature, authorization):
        self.prefix = prefix
        self.signing_key = signing_key
        self.canonical_request = canonical_request
        self.signature = signature
        self.authorization = authorization


def bce_sign(method: str, path: str, query, headers, ak: str, secret: str, timestamp: str,
             expiration: int = 1800, names=None, listed=()) -> BceSignature:
    """bce-auth-v1 (§4.2). names: headers to sign (None = the default set over `headers`);
    listed: the names written into the Authorization header ("" part when empty)."""
    if names is None:
        names = bce_default_names(headers)
    prefix = f"bce-auth-v1/{ak}/{timestamp}/{expiration}"
    signing_key = hmac.new(secret.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    canonical = "\n".join([method, bce_uri_encode(path, keep_slash=True) or "/", bce_canonical_query(query),
                           bce_canonical_headers(headers, names)])
    sig = hmac.new(signing_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return BceSignature(prefix, signing_key, canonical, sig, f"{prefix}/{';'.join(listed)}/{sig}")


def _wire_encode(s, style: str) -> str:
    """How each SDK writes a query key or value on the wire (§1.3, §4.3)."""
    enc = bce_uri_encode(s)
    if style != "node":
        return enc
    # Node's querystring + its own escapes: also - _ . ~ ( ) ' ! *, and lowercase hex.
    out = []
    for ch in enc:
        out.append("%%%02x" % ord(ch) if ch in "-_.~()'!*" else ch)
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), "".join(out))


def bce_wire_query(query, style: str) -> str:
    """[(key, value or None)]: None is a flag, bare (`create`) for Go and Java, `create=` for Python and Node."""
    parts = []
    for k, v in query or []:
        if v is None:
            parts.append(_wire_encode(k, style) if style in ("go", "java") else f"{_wire_encode(k, style)}=")
        else:
            parts.append(f"{_wire_encode(k, style)}={_wire_encode(v, style)}")
    if style == "python":
        parts.sort()
    return "&".join(parts)


# -- raw HTTP ------------------------------------------------------------------------------------------

class BceHttpResponse:
    def __init__(self, status: int, reason: str, headers: list, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] as received
        self.body = body

    def header(self, name: str):
        vals = self.header_all(name)
        assert len(vals) <= 1, f"header {name} sent {len(vals)} times: {self.headers}"
        return vals[0] if vals else None

    def header_all(self, name: str) -> list:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def request_id(self):
        return self.header("x-bce-request-id")

    @property
    def content_type(self):
        return self.header("content-type")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"not JSON: {self!r}")

    def __repr__(self):
        return f"<HTTP {self.status} {self.content_type} {self.text[:400]!r}>"


class BceRequest:
    """One request exactly as it goes on the wire; tests may alter any part after signing."""

    def __init__(self, method: str, path: str, wire_query: str, headers: list, body: bytes,
                 signature: BceSignature | None):
        self.method = method
        self.path = path
        self.wire_query = wire_query
        self.headers = headers  # [[name, value]]
        self.body = body
        self.signature = signature

    @property
    def target(self) -> str:
        return self.path + ("?" + self.wire_query if self.wire_query else "")

    def get(self, name: str):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def set(self, name: str, value) -> "BceRequest":
        """Replace (or add) a header; value None removes it."""
        rest = [[k, v] for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            rest.append([name, str(value)])
        self.headers = rest
        return self

    def copy(self) -> "BceRequest":
        return BceRequest(self.method, self.path, self.wire_query, [list(h) for h in self.headers], self.body,
                          self.signature)

    def to_bytes(self) -> bytes:
        head = f"{self.method} {self.target} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return head.encode("utf-8") + b"\r\n" + self.body


def _body_bytes(body, style: str):
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if style == "python":
        return json.dumps(body).encode()
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class BceRaw:
    """Hand-built, hand-signed Baidu requests in the shape of one SDK (spec §8.2-§8.4).

    style: python (empty signedHeaders, `create=`), go (explicit list with content-md5, bare `create`, compact
    JSON, unsigned x-bce-request-id), java (bare `create` signed as `create=`, empty signedHeaders),
    node (explicit list, lowercase escapes, Connection: close).
    """

    STYLES = ("python", "go", "java", "node")

    def __init__(self, server: TagdServer, ak: str, secret: str, style: str = "java"):
        assert style in self.STYLES, style
        self.server = server
        self.ak = ak
        self.secret = secret
        self.style = style

    def build(self, method: str, path: str, query=None, body=None, *, style: str | None = None,
              timestamp: str | None = None, expiration: int = 1800, extra_headers=(), host: str | None = None,
              secret: str | None = None, ak: str | None = None, sign: bool = True, names=None,
              listed=None, set_headers=()) -> BceRequest:
        style = style or self.style
        query = list(query or [])
        data = _body_bytes(body, style)
        has_body = body is not None
        ts = timestamp or utc_stamp()
        h = [["Host", host or self.server.endpoint]]
        if style == "python":
            h += [["User-Agent", PY_SDK_UA], ["Content-Length", str(len(data))]]
            if has_body:
                h.append(["Content-Type", BCE_JSON_CT])
        elif style == "go":
            h += [["User-Agent", "bce-sdk-go/0.9.190/linux/go1.21"], ["Content-Type", "application/json;charset=utf-8"]]
            if has_body:
                h += [["Content-Length", str(len(data))],
                      ["Content-Md5", base64.b64encode(hashlib.md5(data).digest()).decode()]]
            h.append(["X-Bce-Request-Id", str(uuid.uuid4())])
        elif style == "java":
            h += [["User-Agent", "bce-sdk-java/0.10.300/1.8.0"], ["Content-Type", BCE_JSON_CT]]
            if has_body:
                h.append(["Content-Length", str(len(data))])
        else:  # node
            h += [["User-Agent", "bce-sdk-nodejs/1.0.7/linux/v20.18.0"], ["Connection", "close"],
                  ["Content-Type", "application/json; charset=UTF-8"]]
            if has_body or method not in ("GET", "HEAD"):
                h.append(["Content-Length", str(len(data))])
        h.append(["x-bce-date", ts])
        h += [[k, v] for k, v in extra_headers]
        for name, value in _pairs(set_headers):  # replace (None: remove) before signing
            h = [x for x in h if x[0].lower() != name.lower()] + ([[name, str(value)]] if value is not None else [])
        sig = None
        if sign:
            if names is None:
                names = bce_default_names(h, go=(style == "go"))
            if listed is None:
                listed = names if style in ("go", "node") else ()
            sig = bce_sign(method, path, query, h, ak or self.ak, secret if secret is not None else self.secret,
                           ts, expiration, names=names, listed=listed)
            h.insert(1, ["Authorization", sig.authorization])
        return BceRequest(method, bce_uri_encode(path, keep_slash=True), bce_wire_query(query, style), h, data, sig)

    def send(self, req: BceRequest, conn: _http_client.HTTPConnection | None = None) -> BceHttpResponse:
        own = conn is None
        if own:
            conn = _http_client.HTTPConnection("127.0.0.1", self.server.port, timeout=15)
        try:
            conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            for k, v in req.headers:
                conn.putheader(k, v)
            conn.endheaders(req.body if req.body else None)
            resp = conn.getresponse()
            body = resp.read()
            return BceHttpResponse(resp.status, resp.reason, resp.getheaders(), body)
        finally:
            if own:
                conn.close()

    def call(self, method: str, path: str, query=None, body=None, **kw) -> BceHttpResponse:
        return self.send(self.build(method, path, query, body, **kw))

    # -- the operations (§2), answering the raw response --------------------------------------------

    def create(self, tags, **kw):
        return self.call("PUT", "/v1/tag", [("create", None)], {"tags": tags}, **kw)

    def delete(self, tags, **kw):
        return self.call("PUT", "/v1/tag", [("delete", None)], {"tags": tags}, **kw)

    def list(self, key=None, value=None, **kw):
        q = [(n, v) for n, v in (("tagKey", key), ("tagValue", value)) if v is not None]
        return self.call("GET", "/v1/tag", q, **kw)

    def tag_resources(self, key=None, value=None, region=None, resource_type=None, **kw):
        q = [(n, v) for n, v in (("tagKey", key), ("tagValue", value), ("region", region),
                                 ("resourceType", resource_type)) if v is not None]
        return self.call("GET", "/v1/tag/tagResources", q, **kw)

    def bind(self, key, value, svc, resources, add=True, **kw):
        return self.call("POST" if add else "PUT", "/v1/resource", None, bind_body(key, value, svc, resources), **kw)

    def unbind(self, key, value, svc, resources, **kw):
        return self.bind(key, value, svc, resources, add=False, **kw)

    def delete_association(self, resource_id, svc, region, **kw):
        body = {"resource": {"resourceId": resource_id, "serviceType": svc, "region": region}}
        return self.call("PUT", "/v1/tag", [("deleteTagAssociation", None)], body, **kw)

    def create_and_assign(self, resources, **kw):
        return self.call("POST", "/v1/tag", [("createAndAssign", None)], {"resources": resources}, **kw)

    def query_full_list(self, strong=False, old=False, body=None, **kw):
        q = [] if strong is None else [("strongAssociation", strong if isinstance(strong, str)
                                        else ("true" if strong else "false"))]
        body = {} if body is None else body
        if old:
            return self.call("POST", "/v1/tag", [("queryFullList", None)] + q, body, **kw)
        return self.call("POST", "/v1/tag/queryFullList", q, body, **kw)

    # -- reads that must succeed ------------------------------------------------------------------------

    def ok_json(self, r: BceHttpResponse, key: str) -> list:
        assert r.status == 200, f"expected 200, got {r!r}"
        assert_bce_common_headers(r)
        assert r.content_type == BCE_JSON_CT, r.headers
        body = r.json()
        assert isinstance(body, dict) and list(body) == [key], f"expected exactly {{{key!r}: [...]}}: {body!r}"
        assert isinstance(body[key], list), body
        return body[key]

    def tags(self, key=None, value=None) -> list:
        """[(tagKey, tagValue)] in server order."""
        rows = self.ok_json(self.list(key, value), "tags")
        for t in rows:
            assert set(t) == {"tagKey", "tagValue"}, t
        return [(t["tagKey"], t["tagValue"]) for t in rows]

    def resources_by_tag(self, key=None, value=None, region=None, resource_type=None) -> list:
        """[((tagKey, tagValue), sorted [(resourceType, region, resourceId)])] in server order."""
        out = []
        for e in self.ok_json(self.tag_resources(key, value, region, resource_type), "tagResources"):
            assert set(e) == {"tagKey", "tagValue", "resources"}, e
            for r in e["resources"]:
                assert set(r) == {"resourceType", "resourceId", "region"}, r
            out.append(((e["tagKey"], e["tagValue"]),
                        sorted((r["resourceType"], r["region"], r["resourceId"]) for r in e["resources"])))
        return out

    def full_rows(self, strong=False, old=False, body=None) -> list:
        rows = self.ok_json(self.query_full_list(strong, old, body), "tagAssociationFulls")
        for row in rows:
            assert_full_row(row)
        return rows

    def full(self, strong=False, old=False, body=None) -> list:
        """Sorted [(tagKey, tagValue, serviceType, region, resourceId)] of queryFullList."""
        return sorted((r["tagKey"], r["tagValue"], r["serviceType"], r["region"], r["resourceId"])
                      for r in self.full_rows(strong, old, body))

    def tag_ids(self) -> dict:
        """{(tagKey, tagValue): tagId} over the whole catalogue (queryFullList, strongAssociation=false)."""
        ids = {}
        for r in self.full_rows(False):
            k = (r["tagKey"], r["tagValue"])
            assert ids.setdefault(k, r["tagId"]) == r["tagId"], f"tag {k} with two tagIds"
        return ids

    def snapshot(self) -> dict:
        """Everything an account can read: catalogue, tagResources, and queryFullList rows (ids included)."""
        full = self.full_rows(False)
        return {
            "tags": self.tags(),
            "tagResources": self.resources_by_tag(),
            "full": sorted(json.dumps(r, sort_keys=True) for r in full),
            "strong": sorted(json.dumps(r, sort_keys=True) for r in self.full_rows(True)),
        }


def bind_body(key, value, svc, resources) -> dict:
    """resources: [(resourceId, region)] or [(resourceId, region, item serviceType)] or dicts."""
    items = []
    for r in resources:
        if isinstance(r, dict):
            items.append(r)
        elif len(r) == 3:
            items.append({"resourceId": r[0], "serviceType": r[2], "region": r[1]})
        else:
            items.append({"resourceId": r[0], "serviceType": svc, "region": r[1]})
    return {"tagKey": key, "tagValue": value, "serviceType": svc, "resources": items}


FULL_ROW_FIELDS = {"accountId": str, "resourceId": str, "resourceUuid": str, "region": str, "serviceType": str,
                   "tagId": int, "tagKey": str, "tagValue": str, "associationType": int}


def assert_full_row(row: dict) -> None:
    """A TagAssociationFull (§5): exactly these fields and JSON types (tagId, associationType integers)."""
    assert set(row) == set(FULL_ROW_FIELDS), f"queryFullList row fields: {row!r}"
    for f, t in FULL_ROW_FIELDS.items():
        assert type(row[f]) is t, f"{f} must be a JSON {t.__name__}: {row!r}"
    assert row["associationType"] == 0, row
    if not row["resourceId"]:
        assert row["resourceUuid"] == "", row  # an unbound catalogue tag has no resource


def assert_bce_common_headers(r: BceHttpResponse) -> None:
    """Every response: one x-bce-request-id (UUID v4) and one Date (§1.5)."""
    rid_ = r.request_id
    assert rid_ and UUID4.match(rid_), f"x-bce-request-id {rid_!r}: {r.headers}"
    date = r.header("date")
    assert date, f"no Date header: {r.headers}"
    import email.utils
    assert email.utils.parsedate_to_datetime(date) is not None, date


def assert_bce_write_ok(r: BceHttpResponse) -> None:
    """A write succeeded: 200, empty body, Content-Length: 0 (§1.5)."""
    assert r.status == 200, f"expected 200, got {r!r}"
    assert_bce_common_headers(r)
    assert r.body == b"", r
    assert r.header("content-length") == "0", r.headers


def assert_bce_error(r: BceHttpResponse, code: str, message: str | None = None, status: int | None = None) -> dict:
    """An error in the BCE shape (§3.1): status and code of the tables, exact message,
    body exactly {"requestId","code","message"} (strings), requestId == x-bce-request-id, JSON Content-Type,
    Content-Length of the body."""
    want_status, want_message = BCE_ERRORS[code]
    status = status if status is not None else want_status
    message = message if message is not None else want_message
    assert r.status == status, f"expected HTTP {status} {code}, got {r!r}"
    assert_bce_common_headers(r)
    ct = (r.content_type or "").replace(" ", "").lower()
    assert ct in ("application/json;charset=utf-8", "application/json"), f"error Content-Type {r.content_type!r}"
    assert r.header("content-length") == str(len(r.body)), r.headers
    assert r.header("transfer-encoding") is None, r.headers
    body = r.json()
    assert isinstance(body, dict) and set(body) == {"requestId", "code", "message"}, f"error body {body!r}"
    for f in ("requestId", "code", "message"):
        assert isinstance(body[f], str) and body[f], f"error body {f}: {body!r}"
    assert body["code"] == code, f"expected {code}, got {body!r}"
    assert body["requestId"] == r.request_id, f"requestId {body['requestId']!r} != header {r.request_id!r}"
    if message is not None:
        assert body["message"] == message, f"expected message {message!r}, got {body['message']!r}"
    return body


def bce_raw_roundtrip(server: TagdServer, data: bytes, timeout: float = 10.0) -> tuple:
    """Send bytes on a fresh socket and read until the server closes it: (response bytes, closed)."""
    s = _socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    try:
        s.sendall(data)
        chunks, closed = [], False
        while True:
            try:
                c = s.recv(65536)
            except _socket.timeout:
                break
            if not c:
                closed = True
                break
            chunks.append(c)
        return b"".join(chunks), closed
    finally:
        s.close()


# -- bce-python-sdk 0.9.79 (spec §8.1) ----------------------------------------------------------------

_BCE_SDK_CLASS = None


def _bce_sdk_class():
    """The generic client of spec §8.1 (the SDK has no tag client), built on first use so that the Alibaba
    modules do not need bce-python-sdk. One passive handler before parse_error records each response's status
    and headers (the SDK does not expose an error's headers)."""
    global _BCE_SDK_CLASS
    if _BCE_SDK_CLASS is not None:
        return _BCE_SDK_CLASS
    from baidubce.auth import bce_v1_signer
    from baidubce.bce_base_client import BceBaseClient
    from baidubce.http import bce_http_client, handler, http_content_types, http_methods

    class BceTagSdk(BceBaseClient):
        def __init__(self, config):
            super().__init__(config)
            self.attempts = []  # [(status, {lower-case header: value})] of the last call, one per attempt
            self.sign_timestamp = 0  # Unix time the SDK's signer stamps (0 = now), for a client with a bad clock

        def _compute_service_id(self):  # the base splits __module__: IndexError outside baidubce.services.*
            return "tag"

        def _record(self, http_response, response):
            self.attempts.append((http_response.status,
                                  {k.lower(): v for k, v in http_response.getheaders()}))
            return False

        def _send_request(self, http_method, path, headers=None, params=None, body=None):
            self.attempts = []
            sign = bce_v1_signer.sign
            if self.sign_timestamp:
                sign = functools.partial(bce_v1_signer.sign, timestamp=self.sign_timestamp)
            return bce_http_client.send_request(
                self.config, sign, [self._record, handler.parse_error, handler.parse_json],
                http_method, path, body, headers, params)

        @property
        def last_headers(self) -> dict:
            assert self.attempts, "no response recorded"
            return self.attempts[-1][1]

        def send(self, method, path, params=None, body=None):
            headers = {b"Content-Type": http_content_types.JSON} if body is not None else None
            return self._send_request(method, path, headers=headers, params=params,
                                      body=json.dumps(body) if body is not None else None)

        def create_tags(self, tags):
            return self.send(http_methods.PUT, b"/v1/tag", {b"create": b""}, {"tags": tags})

        def delete_tags(self, tags):
            return self.send(http_methods.PUT, b"/v1/tag", {b"delete": b""}, {"tags": tags})

        def list_tags(self, key=None, value=None):  # value="" asks for the empty value only
            p = {}
            if key is not None:
                p[b"tagKey"] = key.encode()
            if value is not None:
                p[b"tagValue"] = value.encode()
            return self.send(http_methods.GET, b"/v1/tag", p or None)

        def tag_resources(self, key=None, value=None, region=None, resource_type=None):
            p = {}
            for name, v in ((b"tagKey", key), (b"tagValue", value), (b"region", region),
                            (b"resourceType", resource_type)):
                if v is not None:
                    p[name] = v.encode()
            return self.send(http_methods.GET, b"/v1/tag/tagResources", p or None)

        def bind(self, key, value, svc, resources, add=True):
            return self.send(http_methods.POST if add else http_methods.PUT, b"/v1/resource", None,
                             bind_body(key, value, svc, resources))

        def unbind(self, key, value, svc, resources):
            return self.bind(key, value, svc, resources, add=False)

        def delete_tag_association(self, resource_id, svc, region):
            body = {"resource": {"resourceId": resource_id, "serviceType": svc, "region": region}}
            return self.send(http_methods.PUT, b"/v1/tag", {b"deleteTagAssociation": b""}, body)

        def create_and_assign(self, resources):
            return self.send(http_methods.POST, b"/v1/tag", {b"createAndAssign": b""}, {"resources": resources})

        def query_full_list(self, strong=True, old=False, **filters):
            p = {} if strong is None else {b"strongAssociation": b"true" if strong else b"false"}
            if old:
                p[b"queryFullList"] = b""
                return self.send(http_methods.POST, b"/v1/tag", p, filters)
            return self.send(http_methods.POST, b"/v1/tag/queryFullList", p or None, filters)

    _BCE_SDK_CLASS = BceTagSdk
    return BceTagSdk


def bce_sdk(server: TagdServer, ak: str = ROOT_AK, secret: str = ROOT_SECRET, endpoint: str | None = None,
            retry_base_ms: int | None = None):
    """A bce-python-sdk 0.9.79 client on the server (or on `endpoint`). retry_base_ms: the SDK's own
    BackOffRetryPolicy (3 retries on 500/503) with a shorter base interval."""
    from baidubce.auth.bce_credentials import BceCredentials
    from baidubce.bce_client_configuration import BceClientConfiguration
    from baidubce.retry.retry_policy import BackOffRetryPolicy

    kw = {}
    if retry_base_ms is not None:
        kw["retry_policy"] = BackOffRetryPolicy(max_error_retry=3, base_interval_in_millis=retry_base_ms)
    cfg = BceClientConfiguration(credentials=BceCredentials(ak, secret),
                                 endpoint=endpoint or server.base_url, **kw)
    return _bce_sdk_class()(cfg)


def expect_bce_sdk_error(sdk, fn, code: str, message: str | None = None, status: int | None = None):
    """Run fn (an SDK call); it must raise BceHttpClientError with the contract's status, code and message
    (str(e.last_error)), after one attempt, with e.request_id == the response's x-bce-request-id."""
    from baidubce.exception import BceHttpClientError, BceServerError

    want_status, want_message = BCE_ERRORS[code]
    status = status if status is not None else want_status
    message = message if message is not None else want_message
    try:
        got = fn()
    except BceHttpClientError as e:
        assert isinstance(e.last_error, BceServerError), f"not a server error: {e.last_error!r}"
        assert (e.status_code, e.code) == (status, code), \
            f"expected HTTP {status} {code}, got {e.status_code} {e.code}: {e.last_error}"
        if message is not None:
            assert str(e.last_error) == message, f"expected message {message!r}, got {str(e.last_error)!r}"
        else:
            assert str(e.last_error), "empty message"
        assert len(sdk.attempts) == 1, f"{len(sdk.attempts)} attempts for {code}: {sdk.attempts}"
        hdr = sdk.last_headers.get("x-bce-request-id")
        assert e.request_id and UUID4.match(e.request_id), e.request_id
        assert e.request_id == hdr, f"request_id {e.request_id!r} != header {hdr!r}"
        return e
    raise AssertionError(f"expected HTTP {status} {code}, but the call succeeded: {vars(got)!r}")


class BceAccount:
    """A fresh tagd account on a server, with its Baidu clients; tests read exact, unfiltered listings in it."""

    def __init__(self, server: TagdServer, name: str | None = None):
        made = server.create_account(name or ("bce-" + uid(8)))
        self.server = server
        self.id = made["account_id"]
        self.ak = made["access_key_id"]
        self.secret = made["access_key_secret"]

    def sdk(self, **kw):
        return bce_sdk(self.server, self.ak, self.secret, **kw)

    def raw(self, style: str = "java") -> BceRaw:
        return BceRaw(self.server, self.ak, self.secret, style)

    def snapshot(self) -> dict:
        return self.raw().snapshot()
