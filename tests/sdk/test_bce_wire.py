"""Baidu bce-auth-v1 on the wire: the signer against spec §4.5, Go-, Java- and Node-shaped raw requests
(spec §8.2-§8.4), tampering of every signed part, time windows, query parsing, and HTTP plumbing (§1.5).

Contract: shared/spec/bce.md §1, §4, §8, §9 items 2, 4-8; docs/baidu.md.
"""

import base64
import hashlib
import json
import uuid

import pytest

from harness import (BCE_JSON_CT, BceAccount, assert_bce_common_headers, assert_bce_error,
                     assert_bce_write_ok, bce_canonical_query, bce_expired_message, bce_raw_roundtrip, bce_sign,
                     bce_uri_encode, bce_wire_query, uid, utc_stamp)

# --- spec §4.5: known-answer vectors (a unit test of the harness's own signer) ----------------------------

AK = "a" * 32
SK = "b" * 32
TS = "2015-04-27T08:23:49Z"
BODY = b'{"tags":[{"tagKey":"env","tagValue":"prod"}]}'
PREFIX = f"bce-auth-v1/{AK}/{TS}/1800"

VECTORS = {
    "A": dict(
        method="PUT", path="/v1/tag", query=[("create", "")],
        headers=[("Host", "tag.baidubce.com"), ("Content-Type", "application/json; charset=utf-8"),
                 ("Content-Length", "45"), ("x-bce-date", TS)],
        names=None, listed=(),
        canonical="PUT\n/v1/tag\ncreate=\ncontent-length:45\ncontent-type:application%2Fjson%3B%20charset%3Dutf-8\n"
                  "host:tag.baidubce.com\nx-bce-date:2015-04-27T08%3A23%3A49Z",
        auth=f"{PREFIX}//05794cf3318d4a181b4b11723b006f492196cded9d3b1f2f6176c16e8e859f78"),
    "A-node": dict(
        method="PUT", path="/v1/tag", query=[("create", "")],
        headers=[("Host", "tag.baidubce.com"), ("Content-Type", "application/json; charset=utf-8"),
                 ("Content-Length", "45"), ("x-bce-date", TS)],
        names=["content-length", "content-type", "host", "x-bce-date"],
        listed=["content-length", "content-type", "host", "x-bce-date"],
        canonical=None,
        auth=f"{PREFIX}/content-length;content-type;host;x-bce-date/"
             "05794cf3318d4a181b4b11723b006f492196cded9d3b1f2f6176c16e8e859f78"),
    "B": dict(
        method="PUT", path="/v1/tag", query=[("create", None)],
        headers=[("Host", "tag.baidubce.com"), ("Content-Type", "application/json;charset=utf-8"),
                 ("Content-Length", "45"), ("Content-Md5", "FrIN0xahxMRZCuM4qJc9wg=="), ("x-bce-date", TS),
                 ("x-bce-request-id", str(uuid.uuid4()))],
        names=["content-length", "content-md5", "content-type", "host", "x-bce-date"],
        listed=["content-length", "content-md5", "content-type", "host", "x-bce-date"],
        canonical="PUT\n/v1/tag\ncreate=\ncontent-length:45\ncontent-md5:FrIN0xahxMRZCuM4qJc9wg%3D%3D\n"
                  "content-type:application%2Fjson%3Bcharset%3Dutf-8\nhost:tag.baidubce.com\n"
                  "x-bce-date:2015-04-27T08%3A23%3A49Z",
        auth=f"{PREFIX}/content-length;content-md5;content-type;host;x-bce-date/"
             "bd1250b751042ddb5e54b1f72743d9803c6578457429a0f630380005fee50727"),
    "C": dict(
        method="GET", path="/v1/tag", query=[("tagKey", "项目 a/b"), ("tagValue", "")],
        headers=[("Host", "tag.baidubce.com"), ("Content-Length", "0"), ("x-bce-date", TS)],
        names=None, listed=(),
        canonical="GET\n/v1/tag\ntagKey=%E9%A1%B9%E7%9B%AE%20a%2Fb&tagValue=\ncontent-length:0\n"
                  "host:tag.baidubce.com\nx-bce-date:2015-04-27T08%3A23%3A49Z",
        auth=f"{PREFIX}//858d48bc81d97e86b338e91f1daed602d5fe8c01b4eaa61338c07b04f27ef2c3"),
    "D": dict(
        method="PUT", path="/v1/test/myfolder/readme.txt",
        query=[("partNumber", "9"), ("uploadId", "a44cc9bab11cbd156984767aad637851")],
        headers=[("Host", "bj.bcebos.com"), ("Date", "Mon, 27 Apr 2015 16:23:49 +0800"),
                 ("Content-Type", "text/plain"), ("Content-Length", "8"),
                 ("Content-Md5", "NFzcPqhviddjRNnSOGo4rw=="), ("x-bce-date", TS)],
        names=None, listed=(),
        canonical="PUT\n/v1/test/myfolder/readme.txt\npartNumber=9&uploadId=a44cc9bab11cbd156984767aad637851\n"
                  "content-length:8\ncontent-md5:NFzcPqhviddjRNnSOGo4rw%3D%3D\ncontent-type:text%2Fplain\n"
                  "host:bj.bcebos.com\nx-bce-date:2015-04-27T08%3A23%3A49Z",
        auth=f"{PREFIX}//d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e"),
    "D-path": dict(
        method="PUT", path="/test/myfolder/readme.txt",
        query=[("partNumber", "9"), ("uploadId", "a44cc9bab11cbd156984767aad637851")],
        headers=[("Host", "bj.bcebos.com"), ("Date", "Mon, 27 Apr 2015 16:23:49 +0800"),
                 ("Content-Type", "text/plain"), ("Content-Length", "8"),
                 ("Content-Md5", "NFzcPqhviddjRNnSOGo4rw=="), ("x-bce-date", TS)],
        names=None, listed=(), canonical=None,
        auth=f"{PREFIX}//1816c10fce34ba9c9825eddc05fd6058bf82e05fefeddee8da6f869486ea68c0"),
}


def test_vector_body_md5_and_signing_key():
    assert len(BODY) == 45
    assert base64.b64encode(hashlib.md5(BODY).digest()).decode() == "FrIN0xahxMRZCuM4qJc9wg=="
    s = bce_sign("PUT", "/v1/tag", [("create", None)], [], AK, SK, TS)
    assert s.prefix == PREFIX
    assert s.signing_key == "1d5ce5f464064cbee060330d973218821825ac6952368a482a592e6615aef479"


@pytest.mark.parametrize("name", list(VECTORS))
def test_vector(name):
    v = VECTORS[name]
    s = bce_sign(v["method"], v["path"], v["query"], v["headers"], AK, SK, TS, names=v["names"], listed=v["listed"])
    if v["canonical"] is not None:
        assert s.canonical_request == v["canonical"]
    assert s.authorization == v["auth"]


def test_vector_b_python_signer_variant_signs_the_request_id():
    # §4.5 B: signing x-bce-request-id too (Python's signer given that header) under the same five names.
    v = VECTORS["B"]
    headers = [h for h in v["headers"] if h[0] != "x-bce-request-id"] + \
        [("x-bce-request-id", "8b5a9b8e-7f0e-4a8e-9c1e-0c6f4b1c2d3e")]
    s = bce_sign("PUT", "/v1/tag", [("create", None)], headers, AK, SK, TS,
                 names=v["names"] + ["x-bce-request-id"], listed=v["names"])
    assert s.signature != v["auth"].rsplit("/", 1)[1]


def test_vectors_agree_with_the_sdk_signer():
    """bce-python-sdk's own signer (`baidubce.auth.bce_v1_signer.sign`) gives the same A, C and D."""
    from baidubce.auth import bce_v1_signer
    from baidubce.auth.bce_credentials import BceCredentials

    creds = BceCredentials(AK, SK)
    for name, params in (("A", {b"create": b""}),
                         ("C", {b"tagKey": "项目 a/b".encode(), b"tagValue": b""}),
                         ("D", {b"partNumber": b"9", b"uploadId": b"a44cc9bab11cbd156984767aad637851"})):
        v = VECTORS[name]
        headers = {k.encode(): val.encode() for k, val in v["headers"] if k != "Date"}
        got = bce_v1_signer.sign(creds, v["method"].encode(), v["path"].encode(), headers, params,
                                 timestamp=1430123029)
        assert got.decode() == v["auth"], name


def test_uri_encode_and_query_rules():
    assert bce_uri_encode("a-b_c.d~e f*g/h+i") == "a-b_c.d~e%20f%2Ag%2Fh%2Bi"
    assert bce_uri_encode("/v1/tag/x y", keep_slash=True) == "/v1/tag/x%20y"
    assert bce_uri_encode("项") == "%E9%A1%B9"
    # A bare flag and `k=` canonicalise alike; the pairs are sorted; `authorization` is left out.
    assert bce_canonical_query([("create", None)]) == bce_canonical_query([("create", "")]) == "create="
    assert bce_canonical_query([("tagValue", ""), ("tagKey", "b"), ("authorization", "x")]) == "tagKey=b&tagValue="
    assert bce_wire_query([("create", None)], "go") == "create"
    assert bce_wire_query([("create", None)], "java") == "create"
    assert bce_wire_query([("create", None)], "python") == "create="
    assert bce_wire_query([("tagKey", "node-lang")], "node") == "tagKey=node%2dlang"


# --- the real server: the same rules over a live connection -----------------------------------------------

@pytest.fixture
def acct(server) -> BceAccount:
    return BceAccount(server)


@pytest.mark.parametrize("style", ["go", "java", "node", "python"])
def test_every_operation_in_each_sdk_shape(acct, style):
    raw = acct.raw(style)
    r1, r2 = f"i-{uid()}", f"i-{uid()}"
    assert_bce_write_ok(raw.create([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "team", "tagValue": ""}]))
    assert raw.tags() == [("env", "prod"), ("team", "")]
    assert raw.tags("env") == [("env", "prod")]
    assert_bce_write_ok(raw.bind("env", "prod", "BCC", [(r1, "bj"), (r2, "gz")]))
    assert raw.resources_by_tag("env", "prod", region="bj", resource_type="BCC") == \
        [(("env", "prod"), [("BCC", "bj", r1)])]
    assert_bce_write_ok(raw.unbind("env", "prod", "BCC", [(r2, "gz")]))
    assert_bce_write_ok(raw.create_and_assign([{"resourceId": r2, "resourceUuid": "", "serviceType": "BCC",
                                                "region": "gz", "associationType": "",
                                                "tags": [{"tagKey": "tier", "tagValue": "web"}]}]))
    assert raw.full(True) == [("env", "prod", "BCC", "bj", r1), ("tier", "web", "BCC", "gz", r2)]
    assert raw.full(True, old=True) == raw.full(True)
    assert_bce_write_ok(raw.delete_association(r1, "BCC", "bj"))
    assert_bce_write_ok(raw.delete([{"tagKey": "team", "tagValue": ""}]))
    assert raw.tags() == [("env", "prod"), ("tier", "web")]
    assert raw.full(False) == [("env", "prod", "", "", ""), ("tier", "web", "BCC", "gz", r2)]


def test_go_request_on_the_wire(acct):
    """§8.2: bare `?create`, explicit signedHeaders with content-md5, compact JSON, unsigned x-bce-request-id."""
    raw = acct.raw("go")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "go", "tagValue": "1"}]})
    assert req.target == "/v1/tag?create"
    assert req.body == b'{"tags":[{"tagKey":"go","tagValue":"1"}]}'
    assert req.get("Content-Md5") == base64.b64encode(hashlib.md5(req.body).digest()).decode()
    auth = req.get("Authorization").split("/")
    assert auth[4] == "content-length;content-md5;content-type;host;x-bce-date", auth
    assert req.get("X-Bce-Request-Id")
    assert "x-bce-request-id" not in req.signature.canonical_request
    # The unsigned request id may differ from one sending to the next (Go makes a new one per attempt).
    req.set("X-Bce-Request-Id", str(uuid.uuid4()))
    assert_bce_write_ok(raw.send(req))
    assert raw.tags() == [("go", "1")]


def test_go_list_that_signs_fewer_headers_than_sent(acct):
    """Explicit signedHeaders are honoured exactly: unlisted headers (x-bce-* included) are not signed."""
    raw = acct.raw("go")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "few", "tagValue": ""}]},
                    extra_headers=[("x-bce-client-trace", "abc")],
                    names=["host", "x-bce-date"], listed=["host", "x-bce-date"])
    assert_bce_write_ok(raw.send(req.copy().set("x-bce-client-trace", "changed").set("Content-Type", "text/json")))
    assert raw.tags() == [("few", "")]


def test_listed_but_absent_or_empty_headers_are_skipped(acct):
    """§4.4: a listed header that is absent or empty is skipped; empty-valued headers are never signed."""
    raw = acct.raw("go")
    # the list names content-md5, which is not sent (signed over what is there)
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "skip1", "tagValue": ""}]},
                    names=["content-length", "content-md5", "content-type", "host", "x-bce-date"],
                    set_headers={"Content-Md5": None})
    assert req.get("Content-Md5") is None and "content-md5;" in req.get("Authorization")
    assert_bce_write_ok(raw.send(req))
    # an empty x-bce-* header in the default set (Java shape) is left out by signer and verifier alike
    jraw = acct.raw("java")
    req = jraw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "skip2", "tagValue": ""}]},
                     extra_headers=[("x-bce-empty", "")])
    assert "x-bce-empty" not in req.signature.canonical_request
    assert_bce_write_ok(jraw.send(req))
    assert raw.tags() == [("skip1", ""), ("skip2", "")]


@pytest.mark.parametrize("host", ["tag.baidubce.com", "127.0.0.1", "localhost:80"])
def test_host_is_verified_as_received(acct, host):
    """§4.4: Host exactly as received (the endpoint as the client configured it), not the server's address."""
    raw = acct.raw("java")
    assert_bce_write_ok(raw.create([{"tagKey": "host", "tagValue": ""}], host=host))
    assert raw.tags() == [("host", "")]


def test_x_bce_date_is_not_required(acct):
    """§1.2: the signature timestamp lives in Authorization; x-bce-date is signed only when present."""
    raw = acct.raw("java")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "nodate", "tagValue": ""}]},
                    set_headers={"x-bce-date": None})
    assert req.get("x-bce-date") is None
    assert_bce_write_ok(raw.send(req))
    assert raw.tags() == [("nodate", "")]


def test_header_names_are_case_insensitive(acct):
    raw = acct.raw("java")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "case", "tagValue": ""}]})
    req.headers = [[k.upper() if k.lower() != "x-bce-date" else "X-Bce-Date", v] for k, v in req.headers]
    assert_bce_write_ok(raw.send(req))
    assert raw.tags() == [("case", "")]


def test_python_signer_variant_with_request_id_is_rejected(acct):
    """§4.5 B note: signing x-bce-request-id while listing only five names does not verify."""
    raw = acct.raw("go")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "pyvar", "tagValue": ""}]},
                    names=["content-length", "content-md5", "content-type", "host", "x-bce-date",
                           "x-bce-request-id"],
                    listed=["content-length", "content-md5", "content-type", "host", "x-bce-date"])
    before = acct.snapshot()
    assert_bce_error(raw.send(req), "SignatureDoesNotMatch")
    assert acct.snapshot() == before


def test_java_request_on_the_wire(acct):
    """§8.3: bare flag on the wire, signed as `create=`, empty signedHeaders over the default set."""
    raw = acct.raw("java")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "java", "tagValue": "8"}]})
    assert req.target == "/v1/tag?create"
    assert req.get("Authorization").split("/")[4] == ""
    assert req.signature.canonical_request.split("\n")[2] == "create="
    assert_bce_write_ok(raw.send(req))
    # Java sends tagValue whenever it is non-null, so it can ask for the empty value.
    assert_bce_write_ok(raw.create([{"tagKey": "java", "tagValue": ""}]))
    assert raw.tags("java", "") == [("java", "")]
    assert raw.tags("java") == [("java", ""), ("java", "8")]


def test_node_request_on_the_wire(acct):
    """§8.4: lowercase escapes of unreserved characters are decoded before signing."""
    raw = acct.raw("node")
    assert_bce_write_ok(raw.create([{"tagKey": "node-lang", "tagValue": "v1.0_x"}]))
    req = raw.build("GET", "/v1/tag", [("tagKey", "node-lang"), ("tagValue", "v1.0_x")])
    assert req.wire_query == "tagKey=node%2dlang&tagValue=v1%2e0%5fx"
    assert raw.ok_json(raw.send(req), "tags") == [{"tagKey": "node-lang", "tagValue": "v1.0_x"}]


def test_query_decoding(acct):
    """§1.3: hex case-insensitive, `+` is a literal plus, parameter order free, unknown parameters ignored."""
    raw = acct.raw("java")
    assert_bce_write_ok(raw.create([{"tagKey": "a b", "tagValue": "项目"}, {"tagKey": "ab", "tagValue": "x"}]))
    # lowercase hex for a non-ASCII value, parameters in reverse order
    req = raw.build("GET", "/v1/tag", [("tagValue", "项目"), ("tagKey", "a b")])
    req.wire_query = "tagValue=%e9%a1%b9%e7%9b%ae&tagKey=a%20b"
    assert raw.ok_json(raw.send(req), "tags") == [{"tagKey": "a b", "tagValue": "项目"}]
    # `+` is a plus, not a space: tagKey "a+b" matches nothing ("a b" exists), and it must verify as "a+b".
    req = raw.build("GET", "/v1/tag", [("tagKey", "a+b")])
    req.wire_query = "tagKey=a+b"
    assert raw.ok_json(raw.send(req), "tags") == []
    # An unknown parameter (clientToken) is signed like any other and otherwise ignored.
    assert_bce_write_ok(raw.call("PUT", "/v1/tag", [("create", None), ("clientToken", uid())],
                                 {"tags": [{"tagKey": "tok", "tagValue": ""}]}))
    assert raw.tags("tok") == [("tok", "")]


def test_percent_encoded_path_verifies_decoded(acct):
    """§4.4: the path is percent-decoded, then re-encoded; `/v1/%74ag` is `/v1/tag`."""
    raw = acct.raw("java")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "pathenc", "tagValue": ""}]})
    req.path = "/v1/%74ag"
    assert_bce_write_ok(raw.send(req))
    assert raw.tags("pathenc") == [("pathenc", "")]


# --- tampering: every signed part --------------------------------------------------------------------------

def _t_method(req):  # bind signed, sent as... unbind's PUT on the same path
    req.method = "PUT" if req.method == "POST" else "POST"


def _t_path(req):
    req.path = "/v1/tag/queryFullList" if req.path == "/v1/tag" else "/v1/tag"


def _t_query_flag(req):
    req.wire_query = req.wire_query.replace("create", "delete")


def _t_query_added(req):
    req.wire_query += "&clientToken=x"


def _t_host(req):
    req.set("Host", req.get("Host").replace("127.0.0.1", "localhost"))


def _t_content_type(req):
    req.set("Content-Type", "application/json")


def _t_body_and_length(req):
    # another tag in the body: Content-Length follows the body and no longer matches the signed one
    req.body = req.body.replace(b"tamp", b"tamper")
    req.set("Content-Length", len(req.body))


def _t_body_and_md5(req):
    # same length, other body; Go's signed Content-MD5 updated to match the new body
    req.body = req.body.replace(b"tamp", b"evil")
    req.set("Content-Md5", base64.b64encode(hashlib.md5(req.body).digest()).decode())


def _t_x_bce_date(req):
    req.set("x-bce-date", utc_stamp(-60))


def _t_extra_x_bce(req):
    req.set("x-bce-security-token", "injected")


def _t_drop_signed_header(req):
    req.set("Content-Type", None)


def _auth_part(i, fn):
    def t(req):
        parts = req.get("Authorization").split("/")
        parts[i] = fn(parts[i])
        req.set("Authorization", "/".join(parts))
    return t


_t_timestamp = _auth_part(2, lambda ts: utc_stamp(-5) if ts != utc_stamp(-5) else utc_stamp(-6))
_t_expiration = _auth_part(3, lambda e: "3600")
_t_signed_list = _auth_part(4, lambda names: "host;x-bce-date")
_t_signature = _auth_part(5, lambda s: ("0" if s[0] != "0" else "1") + s[1:])

TAMPERS = {
    "method": _t_method,
    "path": _t_path,
    "query-flag": _t_query_flag,
    "query-added-parameter": _t_query_added,
    "host": _t_host,
    "content-type": _t_content_type,
    "body+content-length": _t_body_and_length,
    "body+content-md5": _t_body_and_md5,
    "x-bce-date": _t_x_bce_date,
    "extra-x-bce-header": _t_extra_x_bce,
    "signed-header-removed": _t_drop_signed_header,
    "auth-timestamp": _t_timestamp,
    "auth-expiration": _t_expiration,
    "auth-signedHeaders": _t_signed_list,
    "signature": _t_signature,
}

# (style, tamper) pairs that apply: Go lists its headers, so an extra x-bce-* header is not signed there;
# only Go sends Content-MD5; the path/method tampers need a request where they make sense.
CASES = [(style, name) for style in ("go", "java") for name in TAMPERS
         if not (style == "go" and name == "extra-x-bce-header")
         and not (style == "java" and name == "body+content-md5")]


def _tamper_target(raw, name):
    if name in ("method",):
        return raw.build("POST", "/v1/resource", None,
                         {"tagKey": "tamp", "tagValue": "1", "serviceType": "BCC",
                          "resources": [{"resourceId": "i-tamp", "serviceType": "BCC", "region": "bj"}]})
    return raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "tamp", "tagValue": "1"}]})


@pytest.mark.parametrize("style,name", CASES)
def test_tampered_request_rejected(acct, style, name):
    raw = acct.raw(style)
    assert_bce_write_ok(raw.create([{"tagKey": "tamp", "tagValue": "1"}]))  # something for ?delete to remove
    req = _tamper_target(raw, name)
    bad = req.copy()
    TAMPERS[name](bad)
    assert bad.to_bytes() != req.to_bytes()
    before = acct.snapshot()
    assert_bce_error(raw.send(bad), "SignatureDoesNotMatch")
    assert acct.snapshot() == before
    # The untampered request is accepted: the tamper alone made the difference.
    assert_bce_write_ok(raw.send(req))


@pytest.mark.parametrize("style", ["go", "java"])
def test_wrong_secret_and_other_keys(acct, server, style):
    raw = acct.raw(style)
    before = acct.snapshot()
    body = {"tags": [{"tagKey": "sec", "tagValue": ""}]}
    # The last character changed (to "x", or "y" if it is an "x": the secret is random).
    wrong = acct.secret[:-1] + ("y" if acct.secret.endswith("x") else "x")
    assert wrong != acct.secret
    assert_bce_error(raw.call("PUT", "/v1/tag", [("create", None)], body, secret=wrong),
                     "SignatureDoesNotMatch")
    # A second key of the same account: its id with the first key's secret does not verify.
    other = server.key_create(acct.id)
    assert_bce_error(raw.call("PUT", "/v1/tag", [("create", None)], body, ak=other["access_key_id"]),
                     "SignatureDoesNotMatch")
    assert acct.snapshot() == before
    assert_bce_write_ok(raw.call("PUT", "/v1/tag", [("create", None)], body, ak=other["access_key_id"],
                                 secret=other["access_key_secret"]))
    assert raw.tags() == [("sec", "")]


def test_replay_is_accepted_until_expiry(acct):
    """§4.4: no nonce; the identical signed bytes verify again (writes are idempotent)."""
    raw = acct.raw("go")
    req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "replay", "tagValue": ""}]})
    assert_bce_write_ok(raw.send(req))
    state = acct.snapshot()
    assert_bce_write_ok(raw.send(req))
    assert acct.snapshot() == state


# --- time window (§4.4 step 3) ----------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["go", "java"])
@pytest.mark.parametrize("offset,expiration", [(-1900, 1800), (-120, 60), (-7200, 1800), (3600, 1800)])
def test_expired_or_future_request(acct, style, offset, expiration):
    raw = acct.raw(style)
    ts = utc_stamp(offset)
    before = acct.snapshot()
    r = raw.call("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "late", "tagValue": ""}]},
                 timestamp=ts, expiration=expiration)
    assert_bce_error(r, "RequestExpired", bce_expired_message(ts))
    assert acct.snapshot() == before


@pytest.mark.parametrize("offset,expiration", [(-1700, 1800), (-30, 60), (300, 1800)])
def test_inside_the_window(acct, offset, expiration):
    raw = acct.raw("go")
    assert_bce_write_ok(raw.call("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "ontime", "tagValue": ""}]},
                                 timestamp=utc_stamp(offset), expiration=expiration))
    assert raw.tags() == [("ontime", "")]


# --- HTTP plumbing (§1.5, §9 items 6 and 8) ----------------------------------------------------------------

def _parse_raw_response(data: bytes):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:]]
    return status, headers, body


@pytest.mark.parametrize("what", ["write", "read", "error", "unknown-path"])
def test_connection_close_is_announced(acct, what):
    raw = acct.raw("java")
    if what == "write":
        req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "cc", "tagValue": ""}]})
    elif what == "read":
        req = raw.build("GET", "/v1/tag")
    elif what == "error":
        req = raw.build("PUT", "/v1/tag", [("create", None)], {"tags": []})
    else:
        req = raw.build("GET", "/v1/nothing")
    req.set("Connection", "close")
    data, closed = bce_raw_roundtrip(acct.server, req.to_bytes())
    status, headers, body = _parse_raw_response(data)
    assert closed, "the server did not close the connection after Connection: close"
    conn = [v for k, v in headers if k.lower() == "connection"]
    assert [c.lower() for c in conn] == ["close"], headers
    assert status == {"write": 200, "read": 200, "error": 400, "unknown-path": 404}[what], data
    length = [v for k, v in headers if k.lower() == "content-length"]
    assert length == [str(len(body))], headers


def test_keep_alive_without_connection_close(acct):
    import http.client

    raw = acct.raw("go")
    conn = http.client.HTTPConnection("127.0.0.1", acct.server.port, timeout=10)
    try:
        r1 = raw.send(raw.build("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "ka", "tagValue": ""}]}),
                      conn)
        sock = conn.sock
        assert_bce_write_ok(r1)
        assert (r1.header("connection") or "").lower() != "close", r1.headers
        assert sock is not None
        r2 = raw.send(raw.build("GET", "/v1/tag"), conn)
        assert conn.sock is sock, "the connection was not kept alive"
        assert raw.ok_json(r2, "tags") == [{"tagKey": "ka", "tagValue": ""}]
        r3 = raw.send(raw.build("PUT", "/v1/tag", [("create", None)], {"tags": []}), conn)
        assert_bce_error(r3, "TagExceptions.TagEmpty")
        r4 = raw.send(raw.build("GET", "/v1/tag/tagResources"), conn)
        assert conn.sock is sock
        assert raw.ok_json(r4, "tagResources") == []
    finally:
        conn.close()


def test_empty_reads_have_their_list_key(acct):
    raw = acct.raw("python")
    for r, body in ((raw.list(), b'{"tags":[]}'), (raw.list("nothing", ""), b'{"tags":[]}'),
                    (raw.tag_resources(), b'{"tagResources":[]}'),
                    (raw.query_full_list(True), b'{"tagAssociationFulls":[]}'),
                    (raw.query_full_list(False), b'{"tagAssociationFulls":[]}'),
                    (raw.query_full_list(None, old=True), b'{"tagAssociationFulls":[]}')):
        assert r.status == 200, r
        assert_bce_common_headers(r)
        assert r.content_type == BCE_JSON_CT, r.headers
        assert json.loads(r.body) == json.loads(body), r
        assert r.header("content-length") == str(len(r.body)), r.headers


def test_writes_answer_200_with_no_body(acct):
    raw = acct.raw("go")
    r = f"i-{uid()}"
    res = {"resourceId": r, "serviceType": "BCC", "region": "bj", "tags": [{"tagKey": "w", "tagValue": "1"}]}
    for resp in (raw.create([{"tagKey": "w", "tagValue": "1"}]),
                 raw.bind("w", "1", "BCC", [(r, "bj")]),
                 raw.unbind("w", "1", "BCC", [(r, "bj")]),
                 raw.create_and_assign([res]),
                 raw.delete_association(r, "BCC", "bj"),
                 raw.delete([{"tagKey": "w", "tagValue": "1"}])):
        assert_bce_write_ok(resp)


def test_request_ids_are_unique_and_on_every_response(acct):
    raw = acct.raw("java")
    responses = [raw.list(), raw.create([{"tagKey": "u", "tagValue": ""}]), raw.create([]),
                 raw.call("GET", "/v1/tag", sign=False), raw.call("GET", "/v2/tag"),
                 raw.call("DELETE", "/v1/tag"), raw.query_full_list(True)]
    ids = []
    for r in responses:
        assert_bce_common_headers(r)
        ids.append(r.request_id)
    assert len(set(ids)) == len(ids), ids


def test_unknown_fields_are_ignored_and_not_echoed(acct):
    raw = acct.raw("java")
    r = f"i-{uid()}"
    body = {"tags": [{"tagKey": "uf", "tagValue": "1", "color": "red"}], "extra": {"x": [1, 2]}}
    assert_bce_write_ok(raw.call("PUT", "/v1/tag", [("create", None)], body))
    bind = {"tagKey": "uf", "tagValue": "1", "serviceType": "BCC", "clientToken": "t",
            "resources": [{"resourceId": r, "serviceType": "BCC", "region": "bj", "zone": "a"}]}
    assert_bce_write_ok(raw.call("POST", "/v1/resource", None, bind))
    assert raw.tags() == [("uf", "1")]  # tags() checks the exact field set
    assert raw.resources_by_tag() == [(("uf", "1"), [("BCC", "bj", r)])]
    assert raw.full(True, body={"tagKey": "uf", "unknownFilter": ["x"]}) == [("uf", "1", "BCC", "bj", r)]


def test_content_type_is_never_rejected(acct):
    """§1.2: accept any Content-Type (signed as sent), or none."""
    raw = acct.raw("java")
    cts = ["text/plain", "application/x-www-form-urlencoded", "application/json;charset=UTF-8", None]
    for i, ct in enumerate(cts):
        r = raw.call("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": f"ct{i}", "tagValue": ""}]},
                     set_headers={"Content-Type": ct})
        assert_bce_write_ok(r)
    assert [k for k, _ in raw.tags()] == ["ct0", "ct1", "ct2", "ct3"]
