"""Baidu dialect errors: every code of the seed table (shared/seeds/baidu-tag-create.txt) and every common code
a client can trigger (spec §3.3/§3.4, docs/baidu.md "Errors"), each with exact code, HTTP status and message,
as bce-python-sdk 0.9.79 surfaces it (`BceHttpClientError`) and as it is on the wire
(`{"requestId","code","message"}`, requestId == x-bce-request-id, JSON Content-Type). After every failure the
account's state (catalogue, tagResources, queryFullList) is checked unchanged.
"""

import json

import pytest

from harness import (BceAccount, BceRaw, ROOT_AK, ROOT_SECRET, assert_bce_error, assert_bce_write_ok, bce_expired_message,
                     bce_sdk, expect_bce_sdk_error, retire_server, spawn_server, uid, utc_stamp)

KEY_INVALID = "TagExceptions.TagKeyInvalid"
VALUE_INVALID = "TagExceptions.TagValueInvalid"
KEY_EMPTY = "TagExceptions.TagKeyEmpty"
TAG_EMPTY = "TagExceptions.TagEmpty"
LIMIT = "TagExceptions.LimitExceeded"


@pytest.fixture
def acct(bce_account) -> BceAccount:
    """An account with some state, so that a partial write would show."""
    raw = bce_account.raw()
    assert_bce_write_ok(raw.create([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "keep", "tagValue": ""}]))
    assert_bce_write_ok(raw.bind("env", "prod", "BCC", [("i-base", "bj")]))
    bce_account.base = raw.snapshot()
    return bce_account


def unchanged(acct):
    assert acct.snapshot() == acct.base, "a failed request changed the account's state"


def both(acct, sdk_call, raw_call, code, message=None):
    """The same faulty request through the SDK and hand-signed: the same error, nothing changed."""
    sdk = acct.sdk()
    expect_bce_sdk_error(sdk, lambda: sdk_call(sdk), code, message)
    unchanged(acct)
    assert_bce_error(raw_call(acct.raw()), code, message)
    unchanged(acct)


# --- the seed table: create (and delete, "same error codes", spec §2.2) ----------------------------------

TAG_FAULTS = [
    ("tags-empty-list", [], TAG_EMPTY),
    ("tags-null", None, TAG_EMPTY),
    ("key-empty", [{"tagKey": "", "tagValue": "x"}], KEY_EMPTY),
    ("key-missing", [{"tagValue": "x"}], KEY_EMPTY),
    ("key-null", [{"tagKey": None, "tagValue": "x"}], KEY_EMPTY),
    ("key-66-chars", [{"tagKey": "k" * 66, "tagValue": ""}], KEY_INVALID),
    ("key-66-chinese", [{"tagKey": "项" * 66, "tagValue": ""}], KEY_INVALID),
    ("key-hash", [{"tagKey": "a#b", "tagValue": ""}], KEY_INVALID),
    ("key-equals", [{"tagKey": "a=b", "tagValue": ""}], KEY_INVALID),
    ("key-colon", [{"tagKey": "a:b", "tagValue": ""}], KEY_INVALID),
    ("key-at", [{"tagKey": "a@b", "tagValue": ""}], KEY_INVALID),
    ("key-tilde", [{"tagKey": "a~b", "tagValue": ""}], KEY_INVALID),
    ("key-star", [{"tagKey": "a*b", "tagValue": ""}], KEY_INVALID),
    ("key-emoji", [{"tagKey": "a\U0001F600", "tagValue": ""}], KEY_INVALID),
    ("key-latin1", [{"tagKey": "café", "tagValue": ""}], KEY_INVALID),
    ("key-tab", [{"tagKey": "a\tb", "tagValue": ""}], KEY_INVALID),
    # whitespace outside the charset is not an empty key: it breaks §6 (spec §2.1: only a missing, null or ""
    # key is TagKeyEmpty)
    ("key-tab-only", [{"tagKey": "\t", "tagValue": ""}], KEY_INVALID),
    ("key-newline-only", [{"tagKey": "\n", "tagValue": ""}], KEY_INVALID),
    ("key-ideographic-space-only", [{"tagKey": "\u3000", "tagValue": ""}], KEY_INVALID),
    ("key-space-and-tab", [{"tagKey": " \t ", "tagValue": ""}], KEY_INVALID),
    ("value-66-chars", [{"tagKey": "k", "tagValue": "v" * 66}], VALUE_INVALID),
    ("value-66-chinese", [{"tagKey": "k", "tagValue": "值" * 66}], VALUE_INVALID),
    ("value-equals", [{"tagKey": "k", "tagValue": "a=b"}], VALUE_INVALID),
    ("value-hash", [{"tagKey": "k", "tagValue": "#"}], VALUE_INVALID),
    ("value-emoji", [{"tagKey": "k", "tagValue": "\U0001F600"}], VALUE_INVALID),
    # all-or-nothing and the first fault in body order; per tag: key-empty, key-invalid, value-invalid
    ("good-then-bad", [{"tagKey": "fresh", "tagValue": "1"}, {"tagKey": "b#d", "tagValue": ""}], KEY_INVALID),
    ("existing-then-bad", [{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "", "tagValue": ""}], KEY_EMPTY),
    ("empty-key-and-bad-value", [{"tagKey": "", "tagValue": "a=b"}], KEY_EMPTY),
    ("bad-key-and-bad-value", [{"tagKey": "a#", "tagValue": "a=b"}], KEY_INVALID),
    ("bad-value-before-empty-key", [{"tagKey": "ok", "tagValue": "a=b"}, {"tagKey": ""}], VALUE_INVALID),
    ("bad-key-before-empty-key", [{"tagKey": "a#"}, {"tagKey": ""}], KEY_INVALID),
    ("empty-key-before-bad-key", [{"tagKey": ""}, {"tagKey": "a#"}], KEY_EMPTY),
]


@pytest.mark.parametrize("op", ["create", "delete"])
@pytest.mark.parametrize("name,tags,code", TAG_FAULTS, ids=[c[0] for c in TAG_FAULTS])
def test_tag_fault(acct, op, name, tags, code):
    if op == "create":
        sdk_call = lambda s: s.create_tags(tags)  # noqa: E731
        raw_call = lambda r: r.create(tags)  # noqa: E731
    else:
        sdk_call = lambda s: s.delete_tags(tags)  # noqa: E731
        raw_call = lambda r: r.delete(tags)  # noqa: E731
    both(acct, sdk_call, raw_call, code)


def test_a_body_over_a_mib_is_invalid_http_request(acct):
    """A body larger than tagd takes (1 MiB) gets the error shape of §3.1 (not bare text, which the SDK could
    not read), InvalidHTTPRequest, and changes nothing."""
    tags = [{"tagKey": f"k{i:05d}", "tagValue": "v" * 60} for i in range(16_000)]
    assert len(json.dumps({"tags": tags})) > 1 << 20
    both(acct, lambda s: s.create_tags(tags), lambda r: r.create(tags), "InvalidHTTPRequest")


@pytest.mark.parametrize("op", ["create", "delete"])
def test_tags_missing_is_tag_empty(acct, op):
    flag = [(op, None)]
    for body in ({}, {"other": 1}):
        assert_bce_error(acct.raw("go").call("PUT", "/v1/tag", flag, body), TAG_EMPTY)
        unchanged(acct)


def test_valid_edges_are_accepted(bce_account):
    """Spec §6: key 1..65 and value 0..65 characters (not bytes) of letters, digits, Chinese, - _ / . and space;
    case-sensitive; a missing or null tagValue is ""."""
    raw = bce_account.raw("go")
    edge = [{"tagKey": "k" * 65, "tagValue": "v" * 65}, {"tagKey": "项" * 65, "tagValue": "值" * 65},
            {"tagKey": "aZ09-_/. 项目", "tagValue": "Zz9-_/. 值"}, {"tagKey": "Env", "tagValue": "Prod"},
            {"tagKey": "env", "tagValue": "prod"}, {"tagKey": "㐀ext", "tagValue": "㐀"},
            {"tagKey": "nov"}, {"tagKey": "nullv", "tagValue": None}]
    assert_bce_write_ok(raw.create(edge))
    got = raw.tags()
    assert len(got) == 8, got
    assert set(got) == {("k" * 65, "v" * 65), ("项" * 65, "值" * 65), ("aZ09-_/. 项目", "Zz9-_/. 值"),
                        ("Env", "Prod"), ("env", "prod"), ("㐀ext", "㐀"), ("nov", ""), ("nullv", "")}
    # and each of them deletes again
    assert_bce_write_ok(raw.delete(edge))
    assert raw.tags() == []


# --- binding operations: tag codes for the tag, InappropriateJSON for the resources (docs/baidu.md) ----------

def _bind(key="env", value="prod", svc="BCC", resources=None):
    return {"tagKey": key, "tagValue": value, "serviceType": svc,
            "resources": [{"resourceId": "i-x", "serviceType": svc, "region": "bj"}] if resources is None
            else resources}


BIND_FAULTS = [
    ("key-empty", _bind(key=""), KEY_EMPTY),
    ("key-invalid", _bind(key="a#b"), KEY_INVALID),
    ("value-invalid", _bind(value="a=b"), VALUE_INVALID),
    ("key-too-long", _bind(key="k" * 66), KEY_INVALID),
    ("resources-empty", _bind(resources=[]), "InappropriateJSON"),
    ("resources-missing", {"tagKey": "env", "tagValue": "prod", "serviceType": "BCC"}, "InappropriateJSON"),
    ("resources-not-a-list", _bind(resources="i-x"), "InappropriateJSON"),
    ("region-empty", _bind(resources=[{"resourceId": "i-x", "serviceType": "BCC", "region": ""}]),
     "InappropriateJSON"),
    ("region-missing", _bind(resources=[{"resourceId": "i-x", "serviceType": "BCC"}]), "InappropriateJSON"),
    ("region-uppercase", _bind(resources=[{"resourceId": "i-x", "serviceType": "BCC", "region": "BJ"}]),
     "InappropriateJSON"),
    ("region-space", _bind(resources=[{"resourceId": "i-x", "serviceType": "BCC", "region": "b j"}]),
     "InappropriateJSON"),
    ("resource-id-empty", _bind(resources=[{"resourceId": "", "serviceType": "BCC", "region": "bj"}]),
     "InappropriateJSON"),
    ("resource-id-missing", _bind(resources=[{"serviceType": "BCC", "region": "bj"}]), "InappropriateJSON"),
    ("service-type-empty", _bind(svc="", resources=[{"resourceId": "i-x", "serviceType": "", "region": "bj"}]),
     "InappropriateJSON"),
    ("second-resource-bad", _bind(resources=[{"resourceId": "i-ok", "serviceType": "BCC", "region": "bj"},
                                             {"resourceId": "", "serviceType": "BCC", "region": "bj"}]),
     "InappropriateJSON"),
    ("resource-id-number", _bind(resources=[{"resourceId": 5, "serviceType": "BCC", "region": "bj"}]),
     "InappropriateJSON"),
    # the first fault in body order (spec §2): tagKey and tagValue come before the resources
    ("key-empty-before-bad-region", _bind(key="", resources=[{"resourceId": "i-x", "serviceType": "BCC",
                                                              "region": ""}]), KEY_EMPTY),
    ("key-invalid-before-bad-id", _bind(key="a#b", resources=[{"resourceId": "", "serviceType": "BCC",
                                                               "region": "bj"}]), KEY_INVALID),
    ("value-invalid-before-bad-type", _bind(value="a=b", svc="", resources=[{"resourceId": "i-x",
                                                                             "serviceType": "", "region": "bj"}]),
     VALUE_INVALID),
]


@pytest.mark.parametrize("method", ["POST", "PUT"], ids=["bind", "unbind"])
@pytest.mark.parametrize("name,body,code", BIND_FAULTS, ids=[c[0] for c in BIND_FAULTS])
def test_bind_fault(acct, method, name, body, code):
    from baidubce.http import http_methods

    m = http_methods.POST if method == "POST" else http_methods.PUT
    both(acct, lambda s: s.send(m, b"/v1/resource", None, body),
         lambda r: r.call(method, "/v1/resource", None, body), code)


def _res(rid_="i-x", tags=None, **over):
    """A createAndAssign item in Go's shape (zero values included), with fields overridden."""
    r = {"resourceId": rid_, "resourceUuid": "", "serviceType": "BCC", "region": "bj", "associationType": "",
         "tags": [{"tagKey": "env", "tagValue": "prod"}] if tags is None else tags}
    r.update(over)
    return r


ASSIGN_FAULTS = [
    ("resources-empty", {"resources": []}, "InappropriateJSON"),
    ("resources-missing", {}, "InappropriateJSON"),
    ("region-empty", {"resources": [_res(region="")]}, "InappropriateJSON"),
    ("region-invalid", {"resources": [_res(region="Bei Jing")]}, "InappropriateJSON"),
    ("resource-id-empty", {"resources": [_res(resourceId="")]}, "InappropriateJSON"),
    ("service-type-empty", {"resources": [_res(serviceType="")]}, "InappropriateJSON"),
    ("tags-not-a-list", {"resources": [_res(tags="env")]}, "InappropriateJSON"),
    ("key-empty", {"resources": [_res(tags=[{"tagKey": "", "tagValue": "1"}])]}, KEY_EMPTY),
    ("key-invalid", {"resources": [_res(tags=[{"tagKey": "a:b", "tagValue": "1"}])]}, KEY_INVALID),
    ("value-invalid", {"resources": [_res(tags=[{"tagKey": "ok", "tagValue": "v" * 66}])]}, VALUE_INVALID),
    # the request is all-or-nothing: the first resource (the base binding's resource) keeps its tags
    ("second-resource-bad", {"resources": [_res("i-base", tags=[{"tagKey": "new", "tagValue": "1"}]),
                                           _res("i-2", tags=[{"tagKey": "a#", "tagValue": ""}])]}, KEY_INVALID),
    # the first fault in body order (spec §2): a resource's fields, then its tags, then the next resource
    ("first-tags-bad-second-region-bad", {"resources": [_res("i-1", tags=[{"tagKey": "a#", "tagValue": ""}]),
                                                        _res("i-2", region="")]}, KEY_INVALID),
    ("first-value-bad-second-id-bad", {"resources": [_res("i-1", tags=[{"tagKey": "k", "tagValue": "a=b"}]),
                                                     _res("", serviceType="")]}, VALUE_INVALID),
    ("first-region-bad-second-tags-bad", {"resources": [_res("i-1", region=""),
                                                        _res("i-2", tags=[{"tagKey": ""}])]}, "InappropriateJSON"),
    # tagd keeps one value per key on a resource (docs/baidu.md): a set that names two values of one key cannot
    # be bound exactly, so it fails (spec §2.8 "bound to exactly those tags", §7.4 "must then fail")
    ("key-twice-two-values", {"resources": [_res(tags=[{"tagKey": "env", "tagValue": "prod"},
                                                      {"tagKey": "env", "tagValue": "dev"}])]}, "InappropriateJSON"),
    ("second-resource-key-twice", {"resources": [_res("i-1"), _res("i-2", tags=[{"tagKey": "k", "tagValue": ""},
                                                                                {"tagKey": "k", "tagValue": "1"}])]},
     "InappropriateJSON"),
    ("own-region-before-own-tags", {"resources": [_res("i-1", region="", tags=[{"tagKey": ""}])]},
     "InappropriateJSON"),
    # a second value of a key is a fault of the tag that names it, in body order like any other (spec §2): it
    # comes before a bad tag that follows it, in the same resource or in a later one
    ("key-twice-before-bad-key", {"resources": [_res(tags=[{"tagKey": "k", "tagValue": "1"},
                                                          {"tagKey": "k", "tagValue": "2"},
                                                          {"tagKey": "a#", "tagValue": ""}])]}, "InappropriateJSON"),
    ("first-key-twice-second-key-bad", {"resources": [_res("i-1", tags=[{"tagKey": "k", "tagValue": "1"},
                                                                        {"tagKey": "k", "tagValue": "2"}]),
                                                      _res("i-2", tags=[{"tagKey": "a#", "tagValue": ""}])]},
     "InappropriateJSON"),
    ("first-key-twice-second-key-empty", {"resources": [_res("i-1", tags=[{"tagKey": "k", "tagValue": "1"},
                                                                          {"tagKey": "k", "tagValue": "2"}]),
                                                        _res("i-2", tags=[{"tagKey": ""}])]}, "InappropriateJSON"),
    # ...but after the faults of that tag itself (key, then value)
    ("key-twice-with-bad-value", {"resources": [_res(tags=[{"tagKey": "k", "tagValue": "1"},
                                                          {"tagKey": "k", "tagValue": "a=b"}])]}, VALUE_INVALID),
    ("bad-key-before-key-twice", {"resources": [_res(tags=[{"tagKey": "a#", "tagValue": ""},
                                                          {"tagKey": "k", "tagValue": "1"},
                                                          {"tagKey": "k", "tagValue": "2"}])]}, KEY_INVALID),
]


@pytest.mark.parametrize("name,body,code", ASSIGN_FAULTS, ids=[c[0] for c in ASSIGN_FAULTS])
def test_create_and_assign_fault(acct, name, body, code):
    from baidubce.http import http_methods

    both(acct, lambda s: s.send(http_methods.POST, b"/v1/tag", {b"createAndAssign": b""}, body),
         lambda r: r.call("POST", "/v1/tag", [("createAndAssign", None)], body), code)


@pytest.mark.parametrize("body", [{}, {"resource": None}, {"resource": {"serviceType": "BCC", "region": "bj"}},
                                  {"resource": {"resourceId": "i-base", "serviceType": "BCC", "region": ""}},
                                  {"resource": {"resourceId": "i-base", "serviceType": "", "region": "bj"}},
                                  {"resource": "i-base"}],
                         ids=["missing", "null", "no-id", "no-region", "no-service-type", "a-string"])
def test_delete_tag_association_fault(acct, body):
    from baidubce.http import http_methods

    both(acct, lambda s: s.send(http_methods.PUT, b"/v1/tag", {b"deleteTagAssociation": b""}, body),
         lambda r: r.call("PUT", "/v1/tag", [("deleteTagAssociation", None)], body), "InappropriateJSON")


@pytest.mark.parametrize("old", [False, True], ids=["v2-path", "old-path"])
@pytest.mark.parametrize("body", [[], {"regions": "bj"}, {"tagKey": 5}, {"resourceIds": [1, 2]}],
                         ids=["array", "regions-string", "key-number", "ids-numbers"])
def test_query_full_list_inappropriate(acct, old, body):
    raw = acct.raw()
    assert_bce_error(raw.query_full_list(True, old=old, body=body), "InappropriateJSON")
    unchanged(acct)


# --- JSON (§1.4) ------------------------------------------------------------------------------------------

MALFORMED = [("truncated", b'{"tags":['), ("not-json", b"tags=env"), ("empty", b""), ("trailing-comma",
             b'{"tags":[{"tagKey":"a","tagValue":"b"},]}'), ("single-quotes", b"{'tags':[]}"),
             ("invalid-utf8", b'{"tags":[{"tagKey":"\xff\xfe","tagValue":""}]}')]


@pytest.mark.parametrize("name,body", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_json(acct, name, body):
    from baidubce.http import http_content_types, http_methods

    def sdk_call(s):
        return s._send_request(http_methods.PUT, b"/v1/tag", headers={b"Content-Type": http_content_types.JSON},
                               params={b"create": b""}, body=body)

    both(acct, sdk_call, lambda r: r.call("PUT", "/v1/tag", [("create", None)], body), "MalformedJSON")


@pytest.mark.parametrize("path,query,method", [("/v1/resource", None, "POST"), ("/v1/resource", None, "PUT"),
                                               ("/v1/tag", [("createAndAssign", None)], "POST"),
                                               ("/v1/tag", [("deleteTagAssociation", None)], "PUT"),
                                               ("/v1/tag", [("delete", None)], "PUT")],
                         ids=["bind", "unbind", "createAndAssign", "deleteTagAssociation", "delete"])
@pytest.mark.parametrize("body", [b"{", b""], ids=["truncated", "empty"])
def test_malformed_json_every_write(acct, path, query, method, body):
    assert_bce_error(acct.raw("go").call(method, path, query, body), "MalformedJSON")
    unchanged(acct)


INAPPROPRIATE = [("array", b"[]"), ("string", b'"tags"'), ("number", b"5"), ("null", b"null"),
                 ("tags-string", b'{"tags":"x"}'), ("tags-object", b'{"tags":{"tagKey":"a"}}'),
                 ("tag-number", b'{"tags":[5]}'), ("key-number", b'{"tags":[{"tagKey":5,"tagValue":""}]}'),
                 ("value-number", b'{"tags":[{"tagKey":"a","tagValue":5}]}'),
                 ("value-bool", b'{"tags":[{"tagKey":"a","tagValue":true}]}')]


@pytest.mark.parametrize("name,body", INAPPROPRIATE, ids=[m[0] for m in INAPPROPRIATE])
def test_inappropriate_json(acct, name, body):
    from baidubce.http import http_content_types, http_methods

    def sdk_call(s):
        return s._send_request(http_methods.PUT, b"/v1/tag", headers={b"Content-Type": http_content_types.JSON},
                               params={b"create": b""}, body=body)

    both(acct, sdk_call, lambda r: r.call("PUT", "/v1/tag", [("create", None)], body), "InappropriateJSON")


# --- URI and routing (§3.4) -------------------------------------------------------------------------------

TAGS = {"tags": [{"tagKey": "uri", "tagValue": ""}]}
URI_FAULTS = [
    ("put-no-flag", "PUT", "/v1/tag", [], TAGS),
    ("post-no-flag", "POST", "/v1/tag", [], {"resources": []}),
    ("put-two-flags", "PUT", "/v1/tag", [("create", None), ("delete", None)], TAGS),
    ("put-create-and-association", "PUT", "/v1/tag", [("create", None), ("deleteTagAssociation", None)], TAGS),
    ("post-two-flags", "POST", "/v1/tag", [("createAndAssign", None), ("queryFullList", None)], {}),
    ("strong-bad-v2", "POST", "/v1/tag/queryFullList", [("strongAssociation", "yes")], {}),
    ("strong-empty-v2", "POST", "/v1/tag/queryFullList", [("strongAssociation", "")], {}),
    ("strong-bad-old", "POST", "/v1/tag", [("queryFullList", None), ("strongAssociation", "1")], {}),
]


@pytest.mark.parametrize("name,method,path,query,body", URI_FAULTS, ids=[u[0] for u in URI_FAULTS])
def test_invalid_uri(acct, name, method, path, query, body):
    from baidubce.http import http_methods

    params = {k.encode(): (v or "").encode() for k, v in query} or None
    both(acct, lambda s: s.send(getattr(http_methods, method), path.encode(), params, body),
         lambda r: r.call(method, path, query, body), "InvalidURI")


@pytest.mark.parametrize("wire", ["tagKey=%ZZ", "tagKey=%E9", "tagKey=%FF", "tagKey=a%", "tagKey=%C3%28"])
def test_invalid_percent_encoding(acct, wire):
    """§1.3: bad percent-encoding, or invalid UTF-8 after decoding: InvalidURI (the query cannot be read,
    so it cannot be verified either)."""
    raw = acct.raw("java")
    req = raw.build("GET", "/v1/tag", [("tagKey", "x")])
    req.wire_query = wire
    assert_bce_error(raw.send(req), "InvalidURI")
    unchanged(acct)


ROUTE_FAULTS = [
    ("GET", "/v2/tag", "InvalidVersion"),
    ("PUT", "/v3/tag", "InvalidVersion"),
    ("GET", "/v2/resource", "InvalidVersion"),
    ("GET", "/v1/nothing", "NotFound"),
    ("GET", "/v1/tag/other", "NotFound"),
    ("POST", "/v1/resource/x", "NotFound"),
    ("GET", "/v1/", "NotFound"),
    ("DELETE", "/v1/tag", "MethodNotAllowed"),
    ("GET", "/v1/resource", "MethodNotAllowed"),
    ("POST", "/v1/tag/tagResources", "MethodNotAllowed"),
    ("GET", "/v1/tag/queryFullList", "MethodNotAllowed"),
]


@pytest.mark.parametrize("method,path,code", ROUTE_FAULTS, ids=[f"{m} {p}" for m, p, _ in ROUTE_FAULTS])
def test_routing_errors_after_authentication(acct, method, path, code):
    """docs/baidu.md: authentication happens first, so a signed request to an unknown path gets NotFound or
    InvalidVersion (404) in the BCE shape; a known path with another method 405 MethodNotAllowed."""
    from baidubce.http import http_methods

    sdk = acct.sdk()
    expect_bce_sdk_error(sdk, lambda: sdk.send(getattr(http_methods, method), path.encode(), None, None), code)
    assert_bce_error(acct.raw("go").call(method, path), code)
    if path.startswith("/v1/"):
        # unsigned on a /v1/ path: still Baidu's, and authentication comes first
        assert_bce_error(acct.raw("go").call(method, path, sign=False), "AccessDenied")
    else:
        # neither /v1/ nor bce-auth-v1: not the Baidu dialect at all (docs/baidu.md, "Routing")
        assert acct.raw("go").call(method, path, sign=False).status == 404
    unchanged(acct)


@pytest.mark.parametrize("path", ["/", "/foo"])
def test_bce_signed_request_outside_v1_is_baidu(acct, path):
    """docs/baidu.md: a request goes to the Baidu dialect when its Authorization starts with bce-auth-v1/."""
    assert_bce_error(acct.raw("java").call("GET", path), "NotFound")
    assert_bce_error(acct.raw("java").call("GET", path, secret="wrong"), "SignatureDoesNotMatch")


# --- authentication (§4.4, in its order) ------------------------------------------------------------------

WRITE = ("PUT", "/v1/tag", [("create", None)], {"tags": [{"tagKey": "authx", "tagValue": ""}]})


@pytest.mark.parametrize("method,path,query,body", [WRITE, ("GET", "/v1/tag", [], None),
                                                    ("POST", "/v1/tag/queryFullList", [], {})],
                         ids=["create", "list", "queryFullList"])
def test_no_authorization_is_access_denied(acct, method, path, query, body):
    assert_bce_error(acct.raw("go").call(method, path, query, body, sign=False), "AccessDenied")
    unchanged(acct)


def _auth_variants(good: str):
    p = good.split("/")
    return {
        "five-parts": "/".join(p[:5]),
        "seven-parts": good + "/x",
        "other-version": "/".join(["bce-auth-v2"] + p[1:]),
        "uppercase-prefix": "/".join(["BCE-AUTH-V1"] + p[1:]),
        "bearer": "Bearer " + p[5],
        "timestamp-space": "/".join(p[:2] + [p[2].replace("T", " ")] + p[3:]),
        "timestamp-fraction": "/".join(p[:2] + [p[2][:-1] + ".000Z"] + p[3:]),
        "timestamp-no-z": "/".join(p[:2] + [p[2][:-1]] + p[3:]),
        "timestamp-date-only": "/".join(p[:2] + [p[2][:10]] + p[3:]),
        "timestamp-lowercase-z": "/".join(p[:2] + [p[2][:-1] + "z"] + p[3:]),
        "timestamp-impossible": "/".join(p[:2] + ["2026-13-45T25:61:61Z"] + p[3:]),
        "expiration-plus-sign": "/".join(p[:3] + ["+" + p[3]] + p[4:]),
        "expiration-word": "/".join(p[:3] + ["abc"] + p[4:]),
        "expiration-empty": "/".join(p[:3] + [""] + p[4:]),
        "prefix-only": "bce-auth-v1",
    }


@pytest.mark.parametrize("variant", list(_auth_variants("bce-auth-v1/a/2026-01-01T00:00:00Z/1800//s")))
def test_invalid_http_auth_header(acct, variant):
    raw = acct.raw("java")
    req = raw.build(*WRITE)
    req.set("Authorization", _auth_variants(req.get("Authorization"))[variant])
    assert_bce_error(raw.send(req), "InvalidHTTPAuthHeader")
    unchanged(acct)


def test_unknown_access_key(acct, server):
    sdk = bce_sdk(server, "unknown" + uid(), "whatever")
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags([{"tagKey": "authx", "tagValue": ""}]), "InvalidAccessKeyId")
    raw = BceRaw(server, "unknown" + uid(), "whatever", "go")
    assert_bce_error(raw.call(*WRITE), "InvalidAccessKeyId")
    # key lookup comes before the time window
    assert_bce_error(raw.call(*WRITE, timestamp=utc_stamp(-7200)), "InvalidAccessKeyId")
    unchanged(acct)


def test_disabled_key(acct, server):
    key = server.key_create(acct.id)
    sdk = bce_sdk(server, key["access_key_id"], key["access_key_secret"])
    sdk.list_tags()  # works while enabled
    server.key_disable(key["access_key_id"])
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags([{"tagKey": "authx", "tagValue": ""}]), "InvalidAccessKeyId")
    raw = BceRaw(server, key["access_key_id"], key["access_key_secret"], "java")
    assert_bce_error(raw.call(*WRITE), "InvalidAccessKeyId")
    assert_bce_error(raw.call("GET", "/v1/tag"), "InvalidAccessKeyId")
    unchanged(acct)
    # the account's first key still works
    assert acct.raw().tags() == [("env", "prod"), ("keep", "")]


def test_wrong_secret_through_the_sdk(acct, server):
    sdk = bce_sdk(server, acct.ak, acct.secret[::-1])
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags([{"tagKey": "authx", "tagValue": ""}]), "SignatureDoesNotMatch")
    expect_bce_sdk_error(sdk, lambda: sdk.list_tags("env", ""), "SignatureDoesNotMatch")
    unchanged(acct)


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_request_expired_message(acct, offset):
    raw = acct.raw("go")
    ts = utc_stamp(offset)
    body = assert_bce_error(raw.call(*WRITE, timestamp=ts), "RequestExpired", f"Request has expired. Timestamp "
                                                                             f"date is {ts}.")
    assert body["message"] == bce_expired_message(ts)
    # time is checked before the signature
    assert_bce_error(raw.call(*WRITE, timestamp=ts, secret="wrong"), "RequestExpired", bce_expired_message(ts))
    # and before the received request is rebuilt (§4.4: step 3, then step 4 decodes the path and query)
    for wire in ("tagKey=%ZZ", "tagKey=%C3%28"):
        req = raw.build("GET", "/v1/tag", [("tagKey", "x")], timestamp=ts)
        req.wire_query = wire
        assert_bce_error(raw.send(req), "RequestExpired", bce_expired_message(ts))
    req = raw.build(*WRITE, timestamp=ts)
    req.path = "/v1/t%ZZag"
    assert_bce_error(raw.send(req), "RequestExpired", bce_expired_message(ts))
    unchanged(acct)


def test_request_expired_through_the_sdk(acct):
    """An SDK whose clock is an hour late: 400 RequestExpired, not retried (spec §3.6), message with the
    Authorization timestamp."""
    import time

    sdk = acct.sdk()
    sdk.sign_timestamp = int(time.time()) - 3600
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sdk.sign_timestamp))
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags([{"tagKey": "authx", "tagValue": ""}]), "RequestExpired",
                         bce_expired_message(ts))
    unchanged(acct)


def test_root_key_is_another_account(acct, server):
    """The root key signs for the root account: it sees none of this account's state."""
    root = BceRaw(server, ROOT_AK, ROOT_SECRET, "java")
    assert_bce_write_ok(root.create([{"tagKey": "rootonly", "tagValue": ""}]))
    assert ("env", "prod") not in root.tags()
    unchanged(acct)


# --- the quota: 413 TagExceptions.LimitExceeded (seed), with a small quota --------------------------------

@pytest.fixture(scope="module")
def quota_server(tagd_bin, tmp_path_factory):
    """Quota 5 through the environment variable (TAGD_BCE_TAG_QUOTA)."""
    s = spawn_server(tagd_bin, tmp_path_factory, env={"TAGD_BCE_TAG_QUOTA": "5"})
    yield s
    retire_server(s)


def _tags(*names):
    return [{"tagKey": n, "tagValue": ""} for n in names]


def test_quota_on_create(quota_server):
    acct = BceAccount(quota_server)
    raw, sdk = acct.raw(), acct.sdk()
    sdk.create_tags(_tags("t1", "t2", "t3"))
    base = acct.snapshot()
    # 3 + 3 new > 5: nothing of it is created
    for call in (lambda: sdk.create_tags(_tags("t4", "t5", "t6")),
                 lambda: sdk.create_tags(_tags("t1", "t2", "t3", "t4", "t5", "t6"))):
        expect_bce_sdk_error(sdk, call, LIMIT)
        assert acct.snapshot() == base
    assert_bce_error(raw.create(_tags("t4", "t5", "t6")), LIMIT)
    assert acct.snapshot() == base
    sdk.create_tags(_tags("t4", "t5"))  # exactly at the limit
    full = acct.snapshot()
    assert [k for k, _ in raw.tags()] == ["t1", "t2", "t3", "t4", "t5"]
    # re-creating existing tags at the limit succeeds and changes nothing
    sdk.create_tags(_tags("t1", "t2", "t3", "t4", "t5"))
    sdk.create_tags(_tags("t5"))
    assert acct.snapshot() == full
    # one new tag among existing ones is over the limit
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags(_tags("t1", "t6")), LIMIT)
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags([{"tagKey": "t1", "tagValue": "other"}]), LIMIT)
    assert acct.snapshot() == full
    # the quota is checked last: a bad tag at the limit is reported as such
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags(_tags("t6", "b#d")), KEY_INVALID)
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags(_tags("t6", "")), KEY_EMPTY)
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags([]), TAG_EMPTY)
    assert acct.snapshot() == full
    # deleting frees room
    sdk.delete_tags(_tags("t1"))
    sdk.create_tags(_tags("t6"))
    assert [k for k, _ in raw.tags()] == ["t2", "t3", "t4", "t5", "t6"]


def test_quota_counts_duplicates_once(quota_server):
    acct = BceAccount(quota_server)
    sdk = acct.sdk()
    sdk.create_tags(_tags("a", "b", "c", "d"))
    sdk.create_tags(_tags("e", "e", "e"))  # one tag, three times: 5 in all
    assert [k for k, _ in acct.raw().tags()] == ["a", "b", "c", "d", "e"]


def test_quota_create_and_assign_counts_a_tag_once(quota_server):
    acct = BceAccount(quota_server)
    sdk = acct.sdk()
    sdk.create_tags(_tags("a", "b", "c", "d"))
    sdk.create_and_assign([{"resourceId": f"i-{n}", "serviceType": "BCC", "region": "bj", "tags": _tags("z", "a")}
                           for n in range(3)])
    assert [k for k, _ in acct.raw().tags()] == ["a", "b", "c", "d", "z"]


def test_quota_same_key_many_values(quota_server):
    """One key=value pair is one tag: a key with 5 values fills the quota."""
    acct = BceAccount(quota_server)
    sdk = acct.sdk()
    sdk.create_tags([{"tagKey": "k", "tagValue": str(i)} for i in range(5)])
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags([{"tagKey": "k", "tagValue": "5"}]), LIMIT)


def test_quota_on_bind_and_create_and_assign(quota_server):
    acct = BceAccount(quota_server)
    raw, sdk = acct.raw(), acct.sdk()
    sdk.create_tags(_tags("t1", "t2", "t3", "t4"))
    sdk.bind("t1", "", "BCC", [("i-1", "bj")])
    sdk.bind("t5", "", "BCC", [("i-2", "bj")])  # creates the 5th tag implicitly
    full = acct.snapshot()
    assert len(raw.tags()) == 5
    # binding a new tag at the limit
    expect_bce_sdk_error(sdk, lambda: sdk.bind("t6", "", "BCC", [("i-1", "bj")]), LIMIT)
    assert_bce_error(raw.bind("t6", "", "BCC", [("i-1", "bj")]), LIMIT)
    assert acct.snapshot() == full
    # createAndAssign with a new tag: nothing changes, i-1 keeps t1
    res = [{"resourceId": "i-1", "serviceType": "BCC", "region": "bj", "tags": _tags("t2", "t6")}]
    expect_bce_sdk_error(sdk, lambda: sdk.create_and_assign(res), LIMIT)
    assert_bce_error(raw.create_and_assign(res), LIMIT)
    assert acct.snapshot() == full
    # existing tags bind fine at the limit
    sdk.bind("t3", "", "BCC", [("i-1", "bj")])
    sdk.create_and_assign([{"resourceId": "i-3", "serviceType": "BCC", "region": "gz", "tags": _tags("t4", "t5")}])
    assert raw.full(True) == [("t1", "", "BCC", "bj", "i-1"), ("t3", "", "BCC", "bj", "i-1"),
                              ("t4", "", "BCC", "gz", "i-3"), ("t5", "", "BCC", "bj", "i-2"),
                              ("t5", "", "BCC", "gz", "i-3")]


def test_quota_is_per_account(quota_server):
    a, b = BceAccount(quota_server), BceAccount(quota_server)
    a.sdk().create_tags(_tags("1", "2", "3", "4", "5"))
    b.sdk().create_tags(_tags("1", "2", "3", "4", "5"))
    sdk = b.sdk()
    expect_bce_sdk_error(sdk, lambda: sdk.create_tags(_tags("6")), LIMIT)


def test_default_quota_is_200(bce_account):
    """Spec §6: 200 tags per account by default (the server of this module runs without --bce-tag-quota);
    the 201st is 413 LimitExceeded, in one request or after the others, and changes nothing."""
    raw = bce_account.raw("go")
    tags = [{"tagKey": f"q{i:03d}", "tagValue": ""} for i in range(201)]
    assert_bce_error(raw.create(tags), LIMIT)
    assert raw.tags() == []
    assert_bce_write_ok(raw.create(tags[:200]))
    full = bce_account.snapshot()
    assert len(full["tags"]) == 200
    assert_bce_error(raw.create(tags[200:]), LIMIT)
    assert_bce_error(raw.bind("q200", "", "BCC", [("i-q", "bj")]), LIMIT)
    assert bce_account.snapshot() == full
    assert_bce_write_ok(raw.create(tags[:200]))  # existing tags at the limit
    assert bce_account.snapshot() == full


# --- the per-resource limit: 1000 tags (docs/baidu.md) -----------------------------------------------------

@pytest.fixture(scope="module")
def big_quota_server(tagd_bin, tmp_path_factory):
    s = spawn_server(tagd_bin, tmp_path_factory, "--bce-tag-quota", "3000")
    yield s
    retire_server(s)


def test_resource_tag_limit(big_quota_server):
    acct = BceAccount(big_quota_server)
    raw, sdk = acct.raw("go"), acct.sdk()
    many = [{"tagKey": f"k{i:04d}", "tagValue": ""} for i in range(1001)]
    expect_bce_sdk_error(sdk, lambda: sdk.create_and_assign(
        [{"resourceId": "i-big", "serviceType": "BCC", "region": "bj", "tags": many}]), LIMIT)
    assert acct.snapshot() == {"tags": [], "tagResources": [], "full": [], "strong": []}
    sdk.create_and_assign([{"resourceId": "i-big", "serviceType": "BCC", "region": "bj", "tags": many[:1000]}])
    assert len(raw.full(True)) == 1000
    base = acct.snapshot()
    expect_bce_sdk_error(sdk, lambda: sdk.bind("k1000", "", "BCC", [("i-big", "bj")]), LIMIT)
    assert acct.snapshot() == base
    # another value of a key the resource carries replaces it: still 1000
    sdk.bind("k0000", "v", "BCC", [("i-big", "bj")])
    rows = raw.full(True)
    assert len(rows) == 1000 and ("k0000", "v", "BCC", "bj", "i-big") in rows
