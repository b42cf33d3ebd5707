"""The wire protocol with hand-signed requests (spec §1, §2, §6): what the SDKs cannot or will not send."""

import hashlib

import pytest

from harness import (
    ERROR_FIELDS, RDS_TYPE, RDS_VERSION, REGION, RawResponse, SIGNATURE_MISMATCH_PREFIX, assert_raw_error, form_encode, rds_tag_params, rid, uid,
    utc_stamp, v1_signature, v1_string_to_sign, v3_canonical_request, v3_signature, xml_fields,
)

MSG_KEY_BLANK = "The Tag.N.Key parameter is blank"
MSG_VALUE_BLANK = "The Tag.N.Value parameter is blank"
MSG_TAGS_NULL = "The parameter - Tags should not be null"


# --- the signer itself, against the spec's published vectors --------------------------------

def test_v1_signer_matches_published_vector():
    params = [("AccessKeyId", "testid"), ("Action", "DescribeRegions"), ("Format", "XML"),
              ("SignatureMethod", "HMAC-SHA1"), ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
              ("SignatureVersion", "1.0"), ("Timestamp", "2016-02-23T12:46:24Z"), ("Version", "2014-05-26")]
    sts = v1_string_to_sign("GET", params)
    assert sts == ("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod"
                   "%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
                   "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")
    assert v1_signature("testsecret", sts) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_v3_signer_matches_published_vector():
    query = [("RegionId", "cn-hangzhou"), ("ResourceId.1", "rm-uf6wjk5xxxxxxx"), ("ResourceType", "INSTANCE"),
             ("Tag.1.Key", "env"), ("Tag.1.Value", "prod")]
    headers = {"host": "rds.aliyuncs.com", "x-acs-action": "TagResources", "x-acs-version": "2014-08-15",
               "x-acs-date": "2024-01-01T00:00:00Z", "x-acs-signature-nonce": "0123456789abcdef0123456789abcdef",
               "x-acs-content-sha256": hashlib.sha256(b"").hexdigest()}
    creq = v3_canonical_request("POST", query, headers, sorted(headers), headers["x-acs-content-sha256"])
    assert v3_signature("testsecret", creq) == "c5b9209bc357ce44c3a77fd1a0fbf59fcd939895d160ec0d285bcef952dab122"


# --- formats ---------------------------------------------------------------------------------

def _is_xml_ct(ct):
    return ct.replace(" ", "").lower() == "text/xml;charset=utf-8"


@pytest.mark.parametrize("fmt", [None, "XML", "xml"])
def test_xml_when_format_absent_or_xml(raw, fmt):
    r = rid()
    resp = raw.tag([r], [("fmt", str(fmt))], fmt=fmt)
    assert resp.status == 200, resp
    assert _is_xml_ct(resp.content_type), resp.content_type
    root = resp.xml()
    assert root.tag == "TagResourcesResponse"
    assert (root.findtext("RequestId") or "") != ""

    resp = raw.list_page(ids=[r], fmt=fmt)
    assert resp.status == 200 and _is_xml_ct(resp.content_type), resp
    root = resp.xml()
    assert root.tag == "ListTagResourcesResponse"
    assert (root.findtext("RequestId") or "") != ""
    rows = [xml_fields(e) for e in root.findall("./TagResources/TagResource")]
    assert rows == [{"ResourceId": r, "ResourceType": RDS_TYPE, "TagKey": "fmt", "TagValue": str(fmt)}]


@pytest.mark.parametrize("fmt", ["JSON", "json"])
def test_json_when_format_json(raw, fmt):
    r = rid()
    resp = raw.tag([r], [("k", "v")], fmt=fmt)
    assert resp.status == 200, resp
    assert resp.content_type.replace(" ", "").lower() == "application/json;charset=utf-8"
    assert resp.json()["RequestId"]


@pytest.mark.parametrize("fmt", [None, "XML"])
def test_xml_errors(raw, fmt):
    """API errors and authentication errors alike come back as <Error> with the five fields."""
    r = rid()
    cases = [
        (raw.tag([r], [("k", "v")], region=None, fmt=fmt), 400, "MissingParameter"),
        (raw.tag([r], [("k", "v")], fmt=fmt, ak="LTAI" + uid(20)), 404, "InvalidAccessKeyId.NotFound"),
        (raw.tag([r], [("k", "v")], fmt=fmt, secret="wrong"), 400, "SignatureDoesNotMatch"),
    ]
    for resp, status, code in cases:
        assert resp.status == status, resp
        assert _is_xml_ct(resp.content_type), resp
        root = resp.xml()
        assert root.tag == "Error", resp
        fields = xml_fields(root)
        for f in ERROR_FIELDS:
            assert fields.get(f), f"{f} missing/empty in {resp!r}"
        assert fields["Code"] == code, resp
    assert raw.rows(ids=[r]) == []


@pytest.mark.parametrize("where", ["query", "body"])
@pytest.mark.parametrize("fmt,json_answer", [("JSON", True), ("json", True), ("XML", False), (None, False)])
def test_unreadable_parameters_answer_in_the_format_asked_for(raw, where, fmt, json_answer):
    """§6 item 5: Format=JSON gets JSON, even when another parameter does not decode (%FF is not UTF-8)
    and the request is refused as a whole; without Format it is XML, the documented default."""
    r = rid()
    good = [("Action", "TagResources"), ("Version", RDS_VERSION), ("RegionId", REGION),
            ("ResourceType", "INSTANCE"), ("ResourceId.1", r)] + ([("Format", fmt)] if fmt else [])
    bad = "Tag.1.Key=%FF&Tag.1.Value=v"
    if where == "query":
        resp = raw.session.post(f"{raw.server.base_url}/?{form_encode(good)}&{bad}", timeout=15)
    else:
        resp = raw.session.post(f"{raw.server.base_url}/", data=f"{bad}&{form_encode(good)}".encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=15)
    got = RawResponse(resp)
    if json_answer:
        assert_raw_error(got, 400, "InvalidParameter")
    else:
        assert got.status == 400 and got.content_type.replace(" ", "").lower() == "text/xml;charset=utf-8", got
        root = got.xml()
        assert root.tag == "Error" and xml_fields(root)["Code"] == "InvalidParameter", got
    assert raw.rows(ids=[r]) == []


# --- transport: methods, bodies, decoding ---------------------------------------------------

def test_get_and_post(raw):
    r = rid()
    assert raw.tag([r], [("m", "get")], method="GET").status == 200
    assert raw.tag([r], [("n", "post")], method="POST").status == 200
    resp = raw.list_page(ids=[r], method="GET")
    assert resp.status == 200
    assert raw.rows(ids=[r]) == [(r, "m", "get"), (r, "n", "post")]


def test_form_body_post_signed_over_query_and_body(raw):
    r = rid()
    api = rds_tag_params([r], [("body key", "body+value"), ("k2", "数据")])
    resp = raw.v1("TagResources", params=[("RegionId", REGION)], body=[p for p in api if p[0] != "RegionId"])
    assert resp.status == 200, resp
    assert raw.rows(ids=[r]) == [(r, "body key", "body+value"), (r, "k2", "数据")]


def test_plus_means_space_in_query_and_body(raw):
    r = rid()
    resp = raw.tag([r], [("team a", "x y")], plus_for_space=True)  # Tag.1.Key=team+a on the wire
    assert resp.status == 200, resp
    resp = raw.v1("TagResources", params=[("RegionId", REGION)], plus_for_space=True,
                  body=[("ResourceType", "INSTANCE"), ("ResourceId.1", r), ("Tag.1.Key", "b c"), ("Tag.1.Value", "d")])
    assert resp.status == 200, resp
    assert raw.rows(ids=[r]) == [(r, "b c", "d"), (r, "team a", "x y")]


def test_unknown_parameters_are_ignored(raw):
    r = rid()
    p = rds_tag_params([r], [("k", "v")]) + [("OwnerId", "123"), ("ResourceOwnerAccount", "x"),
                                              ("ClientToken", uid()), ("SignatureType", "")]
    assert raw.v1("TagResources", p).status == 200
    assert raw.rows(ids=[r]) == [(r, "k", "v")]


# --- TagResources validation that needs raw requests ----------------------------------------

def test_empty_and_absent_values_are_allowed(raw):
    r = rid()
    resp = raw.tag([r], [("empty", ""), ("absent", None)])
    assert resp.status == 200, resp
    assert raw.rows(ids=[r]) == [(r, "absent", ""), (r, "empty", "")]


RAW_TAG_ERRORS = [
    ("empty-key", [("", "v")], 400, "InvalidTagKey.Malformed", MSG_KEY_BLANK),
    ("space-key", [(" ", "v")], 400, "InvalidTagKey.Malformed", MSG_KEY_BLANK),
    ("tab-key", [("\t\n", "v")], 400, "InvalidTagKey.Malformed", MSG_KEY_BLANK),
    ("blank-second-key", [("fine", "v"), ("", "v")], 400, "InvalidTagKey.Malformed", MSG_KEY_BLANK),
    ("space-value", [("k", "   ")], 400, "InvalidTagValue.Malformed", MSG_VALUE_BLANK),
    ("no-tags", [], 400, "MissingParameter", MSG_TAGS_NULL),
]


@pytest.mark.parametrize("tags,status,code,message", [c[1:] for c in RAW_TAG_ERRORS],
                         ids=[c[0] for c in RAW_TAG_ERRORS])
def test_tag_errors_raw(raw, tags, status, code, message):
    r = rid()
    assert raw.tag([r], [("pre", "1")]).status == 200
    assert_raw_error(raw.tag([r], tags), status, code, message)
    assert raw.rows(ids=[r]) == [(r, "pre", "1")]


@pytest.mark.parametrize("action", ["TagResources", "UntagResources", "ListTagResources"])
def test_missing_region_id(raw, action):
    r = rid()
    assert raw.tag([r], [("pre", "1")]).status == 200
    p = [("ResourceType", "INSTANCE"), ("ResourceId.1", r)]
    p += {"TagResources": [("Tag.1.Key", "k"), ("Tag.1.Value", "v")], "UntagResources": [("All", "true")],
          "ListTagResources": []}[action]
    assert_raw_error(raw.v1(action, p), 400, "MissingParameter", "The parameter - RegionId should not be null")
    assert raw.rows(ids=[r]) == [(r, "pre", "1")]


def test_missing_resource_type(raw):
    r = rid()
    resp = raw.tag([r], [("k", "v")], resource_type=None)
    assert_raw_error(resp, 400, "MissingParameter", "The parameter - ResourceType should not be null")
    assert raw.rows(ids=[r]) == []


@pytest.mark.parametrize("action", ["TagResources", "UntagResources", "ListTagResources"])
def test_unknown_resource_type(raw, action):
    r = rid()
    assert raw.tag([r], [("pre", "1")]).status == 200
    p = [("RegionId", REGION), ("ResourceType", "NOSUCHTYPE"), ("ResourceId.1", r)]
    p += {"TagResources": [("Tag.1.Key", "k")], "UntagResources": [("All", "true")], "ListTagResources": []}[action]
    assert_raw_error(raw.v1(action, p), 404, "InvalidResourceType.NotFound")
    assert raw.rows(ids=[r]) == [(r, "pre", "1")]


# --- UntagResources ---------------------------------------------------------------------------

@pytest.mark.parametrize("all_value", ["true", "True", "TRUE"])
def test_untag_all(raw, all_value):
    a, b = sorted([rid(), rid()])
    assert raw.tag([a, b], [("x", "1"), ("y", "2")]).status == 200
    assert raw.untag([a], all_=all_value).status == 200
    assert raw.rows(ids=[a, b]) == [(b, "x", "1"), (b, "y", "2")]


def test_untag_keys_take_precedence_over_all(raw):
    r = rid()
    assert raw.tag([r], [("x", "1"), ("y", "2"), ("z", "3")]).status == 200
    assert raw.untag([r], keys=["x", "missing"], all_="true").status == 200
    assert raw.rows(ids=[r]) == [(r, "y", "2"), (r, "z", "3")]


@pytest.mark.parametrize("all_value", [None, "false", "False"])
def test_untag_without_keys_or_all(raw, all_value):
    r = rid()
    assert raw.tag([r], [("x", "1")]).status == 200
    assert_raw_error(raw.untag([r], all_=all_value), 400, "MissingParameter.TagKey", "You must specify TagKey.")
    assert raw.rows(ids=[r]) == [(r, "x", "1")]


def test_untag_removes_only_named_keys_on_named_resources(raw):
    a, b = sorted([rid(), rid()])
    assert raw.tag([a, b], [("x", "1"), ("y", "2")]).status == 200
    assert raw.untag([a], keys=["y"]).status == 200
    assert raw.rows(ids=[a, b]) == [(a, "x", "1"), (b, "x", "1"), (b, "y", "2")]


# --- ListTagResources filters -----------------------------------------------------------------

def test_list_filters(raw):
    u = uid(6)
    env, team, other = f"env-{u}", f"team-{u}", f"other-{u}"
    A, B, C, D = sorted(rid() for _ in range(4))
    assert raw.tag([A], [(env, "prod"), (team, "x")]).status == 200
    assert raw.tag([B], [(env, "prod")]).status == 200
    assert raw.tag([C], [(env, "dev"), (team, "x")]).status == 200
    assert raw.tag([D], [(other, "1")]).status == 200
    rows_of = {
        A: [(A, env, "prod"), (A, team, "x")],
        B: [(B, env, "prod")],
        C: [(C, env, "dev"), (C, team, "x")],
        D: [(D, other, "1")],
    }

    def of(*rs):
        return [row for r in sorted(rs) for row in rows_of[r]]

    # ResourceId.N entries are OR'ed; all tags of each resource.
    assert raw.rows(ids=[B, A]) == of(A, B)
    # A tag filter returns every tag of each matching resource.
    assert raw.rows(tags=[(env, "prod")]) == of(A, B)
    # Tag pairs are AND'ed.
    assert raw.rows(tags=[(env, "prod"), (team, "x")]) == of(A)
    assert raw.rows(tags=[(team, "x"), (env, "dev")]) == of(C)
    # A key without a value means "has this key".
    assert raw.rows(tags=[(team, None)]) == of(A, C)
    assert raw.rows(tags=[(env, None)]) == of(A, B, C)
    # Ids and tags are intersected.
    assert raw.rows(ids=[A, C, D], tags=[(env, "prod")]) == of(A)
    assert raw.rows(ids=[B, D], tags=[(team, None)]) == []
    # Values match exactly (case-sensitive).
    assert raw.rows(tags=[(env, "PROD")]) == []
    assert raw.rows(tags=[(env, "nomatch")]) == []


def test_list_needs_ids_or_tags(raw):
    resp = raw.v1("ListTagResources", [("RegionId", REGION), ("ResourceType", "INSTANCE")])
    assert_raw_error(resp, 400, "MissingParameter")


def test_region_scoping(raw):
    r = rid()
    key = "region-" + uid(6)
    assert raw.tag([r], [(key, "hz")]).status == 200
    assert raw.rows(ids=[r], region="cn-beijing") == []
    assert raw.rows(tags=[(key, None)], region="cn-beijing") == []
    assert raw.tag([r], [(key, "bj")], region="cn-beijing").status == 200
    assert raw.rows(tags=[(key, None)]) == [(r, key, "hz")]
    assert raw.rows(tags=[(key, None)], region="cn-beijing") == [(r, key, "bj")]
    assert raw.untag([r], all_="true", region="cn-beijing").status == 200
    assert raw.rows(ids=[r]) == [(r, key, "hz")]


# --- authentication and replay (V1) ------------------------------------------------------------

def test_replayed_nonce_is_rejected(raw):
    r = rid()
    nonce = uid(32)
    assert raw.tag([r], [("first", "1")], nonce=nonce).status == 200
    assert_raw_error(raw.tag([r], [("second", "2")], nonce=nonce), 400, "SignatureNonceUsed")
    assert_raw_error(raw.tag([r], [("first", "1")], nonce=nonce), 400, "SignatureNonceUsed")
    assert raw.rows(ids=[r]) == [(r, "first", "1")]


@pytest.mark.parametrize("offset", [-20 * 60, 20 * 60], ids=["20min-old", "20min-ahead"])
def test_expired_timestamp(raw, offset):
    r = rid()
    assert_raw_error(raw.tag([r], [("k", "v")], timestamp=utc_stamp(offset)), 400, "InvalidTimeStamp.Expired")
    assert raw.rows(ids=[r]) == []


def test_timestamp_within_window_is_accepted(raw):
    r = rid()
    assert raw.tag([r], [("k", "v")], timestamp=utc_stamp(-5 * 60)).status == 200
    assert raw.rows(ids=[r]) == [(r, "k", "v")]


@pytest.mark.parametrize("stamp", ["2024-01-01 00:00:00", "yesterday", "2030-13-45T99:00:00Z",
                                   utc_stamp()[:-1] + ".123Z"])
def test_malformed_timestamp(raw, stamp):
    r = rid()
    params = rds_tag_params([r], [("k", "v")])
    resp = raw.v1("TagResources", params + [("Timestamp", stamp)], omit=("Timestamp",))
    assert_raw_error(resp, 400, "InvalidTimeStamp.Format")
    assert raw.rows(ids=[r]) == []


@pytest.mark.parametrize("how", ["POST-query", "GET-query", "POST-body"])
def test_wrong_secret_echoes_string_to_sign(raw, how):
    r = rid()
    params = rds_tag_params([r], [("k", "v w*")])
    if how == "POST-body":
        resp = raw.v1("TagResources", [("RegionId", REGION)], body=params[1:], secret="wrong-secret")
    else:
        resp = raw.v1("TagResources", params, method=how.split("-")[0], secret="wrong-secret")
    body = assert_raw_error(resp, 400, "SignatureDoesNotMatch",
                            message=SIGNATURE_MISMATCH_PREFIX + resp.string_to_sign)
    # The legacy SDK splits on ':' and compares the second piece with its own string-to-sign.
    assert body["Message"].split(":")[1] == resp.string_to_sign
    assert raw.rows(ids=[r]) == []


def test_missing_signature(raw):
    r = rid()
    resp = raw.tag([r], [("k", "v")], sign=False)
    assert_raw_error(resp, 400, "IncompleteSignature")
    assert raw.rows(ids=[r]) == []


@pytest.mark.parametrize("where", ["query", "body"])
def test_empty_signature_is_a_missing_signature(raw, where):
    """§6 item 3: a missing signature is IncompleteSignature; `Signature=` carries none either (V3 refuses
    an empty Signature= field the same way), so it is not compared and answered SignatureDoesNotMatch."""
    r = rid()
    params = rds_tag_params([r], [("k", "v")])
    if where == "query":
        resp = raw.v1("TagResources", params + [("Signature", "")], sign=False)
    else:
        resp = raw.v1("TagResources", params, body=[("Signature", "")], sign=False)
    assert_raw_error(resp, 400, "IncompleteSignature")
    assert raw.rows(ids=[r]) == []


def test_unknown_access_key(raw):
    resp = raw.tag([rid()], [("k", "v")], ak="LTAI" + uid(20))
    assert_raw_error(resp, 404, "InvalidAccessKeyId.NotFound")


# --- routing ------------------------------------------------------------------------------------

def test_unknown_action(raw):
    assert_raw_error(raw.v1("NoSuchAction", [("RegionId", REGION)]), 404, "InvalidAction.NotFound")


def test_unknown_version(raw):
    r = rid()
    resp = raw.tag([r], [("k", "v")], version="2099-01-01")
    assert_raw_error(resp, 400, "InvalidVersion")
    assert raw.rows(ids=[r]) == []


@pytest.mark.parametrize("param", ["Action", "Version"])
def test_v1_takes_action_and_version_from_its_signed_parameters_only(raw, param):
    """§1.1/§1.2: V1 carries Action and Version as (signed) parameters; Action is required. The x-acs-*
    headers every SDK also sends are not signed under V1, so they must not choose the action."""
    r = rid()
    headers = {"x-acs-action": "TagResources", "x-acs-version": RDS_VERSION}
    resp = raw.tag([r], [("k", "v")], omit=(param,), headers=headers)
    assert_raw_error(resp, 400, "MissingParameter",
                     f'The input parameter "{param}" that is mandatory for processing this request is not supplied.')
    assert raw.rows(ids=[r]) == []
    # With the parameters, the same headers are harmless (the legacy SDK sends both).
    assert raw.tag([r], [("k", "v")], headers=headers).status == 200
    assert raw.rows(ids=[r]) == [(r, "k", "v")]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_only_get_and_post(raw, method):
    """§1.1/§6 item 1: the RPC APIs are GET and POST on `/`. Another method, even correctly signed, is
    404 InvalidAction.NotFound ("please check your url and method") and changes nothing."""
    r = rid()
    assert raw.tag([r], [("pre", "1")]).status == 200
    assert_raw_error(raw.tag([r], [("k", "v")], method=method), 404, "InvalidAction.NotFound")
    assert_raw_error(raw.untag([r], all_="true", method=method), 404, "InvalidAction.NotFound")
    assert_raw_error(raw.v3("TagResources", rds_tag_params([r], [("k", "v")]), method=method),
                     404, "InvalidAction.NotFound")
    assert raw.rows(ids=[r]) == [(r, "pre", "1")]


def test_action_is_case_insensitive(raw):
    r = rid()
    assert raw.v1("tagresources", rds_tag_params([r], [("a", "1"), ("b", "2")])).status == 200
    assert raw.v1("TAGRESOURCES", rds_tag_params([r], [("c", "3")])).status == 200
    assert raw.rows(ids=[r]) == [(r, "a", "1"), (r, "b", "2"), (r, "c", "3")]
    p = [("RegionId", REGION), ("ResourceType", "INSTANCE"), ("ResourceId.1", r), ("TagKey.1", "a")]
    assert raw.v1("untagresources", p).status == 200
    p[-1] = ("TagKey.1", "b")
    assert raw.v1("UnTagResources", p).status == 200  # Terraform's spelling
    resp = raw.v1("listtagresources", [("RegionId", REGION), ("ResourceType", "INSTANCE"), ("ResourceId.1", r)])
    assert resp.status == 200
    assert [(t["ResourceId"], t["TagKey"]) for t in resp.json()["TagResources"]["TagResource"]] == [(r, "c")]


# --- V3 (ACS3-HMAC-SHA256) by hand --------------------------------------------------------------

def test_v3_query_and_form_body(raw):
    r = rid()
    resp = raw.v3("TagResources", rds_tag_params([r], [("q", "1")]))
    assert resp.status == 200, resp
    assert resp.content_type.replace(" ", "").lower() == "application/json;charset=utf-8"
    assert resp.json()["RequestId"]
    # Parameters in a form body are covered by x-acs-content-sha256 and merged.
    resp = raw.v3("TagResources", [("RegionId", REGION)],
                  body=[("ResourceType", "INSTANCE"), ("ResourceId.1", r), ("Tag.1.Key", "b k"), ("Tag.1.Value", "数")])
    assert resp.status == 200, resp
    assert raw.rows(ids=[r]) == [(r, "b k", "数"), (r, "q", "1")]


def test_v3_body_hash_mismatch(raw):
    r = rid()
    assert raw.tag([r], [("pre", "1")]).status == 200
    body = form_encode([("ResourceType", "INSTANCE"), ("ResourceId.1", r), ("Tag.1.Key", "evil"), ("Tag.1.Value", "1")])
    other = hashlib.sha256(b"ResourceType=INSTANCE").hexdigest()
    resp = raw.v3("TagResources", [("RegionId", REGION)], body_bytes=body.encode(), content_sha256=other)
    assert_raw_error(resp, 400, "SignatureDoesNotMatch")
    assert raw.rows(ids=[r]) == [(r, "pre", "1")]


def test_v3_wrong_secret_replay_and_expiry(raw):
    r = rid()
    p = rds_tag_params([r], [("k", "v")])
    assert_raw_error(raw.v3("TagResources", p, secret="wrong"), 400, "SignatureDoesNotMatch")
    assert_raw_error(raw.v3("TagResources", p, date=utc_stamp(-20 * 60)), 400, "InvalidTimeStamp.Expired")
    assert_raw_error(raw.v3("TagResources", p, date="2024-01-01T00:00:00.5Z"), 400, "InvalidTimeStamp.Format")
    assert_raw_error(raw.v3("TagResources", p, ak="LTAI" + uid(20)), 404, "InvalidAccessKeyId.NotFound")
    assert raw.rows(ids=[r]) == []
    nonce = uid(32)
    assert raw.v3("TagResources", p, nonce=nonce).status == 200
    p2 = rds_tag_params([r], [("k2", "v2")])
    assert_raw_error(raw.v3("TagResources", p2, nonce=nonce), 400, "SignatureNonceUsed")
    assert raw.rows(ids=[r]) == [(r, "k", "v")]


def test_v3_unknown_action_and_version(raw):
    assert_raw_error(raw.v3("NoSuchAction", [("RegionId", REGION)]), 404, "InvalidAction.NotFound")
    r = rid()
    assert_raw_error(raw.v3("TagResources", rds_tag_params([r], [("k", "v")]), version="1999-01-01"),
                     400, "InvalidVersion")
    assert raw.rows(ids=[r]) == []


@pytest.mark.parametrize("left_out", ["x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce"])
def test_v3_headers_that_route_and_protect_must_be_signed(raw, left_out):
    """§1.4/§1.5: Action and Version come only from x-acs-action/x-acs-version, and the replay window rests
    on x-acs-date/x-acs-signature-nonce. Unsigned, anyone could swap the action or replay the request with a
    fresh date and nonce, so a request that leaves one out of SignedHeaders is IncompleteSignature."""
    r = rid()
    assert raw.tag([r], [("pre", "1")]).status == 200
    resp = raw.v3("TagResources", rds_tag_params([r], [("k", "v")]), unsigned=(left_out,))
    assert_raw_error(resp, 400, "IncompleteSignature")
    assert raw.rows(ids=[r]) == [(r, "pre", "1")]
    # The other headers are the client's choice: leaving out accept (Tea signs it) still works.
    assert raw.v3("TagResources", rds_tag_params([r], [("k", "v")]), unsigned=("accept",)).status == 200
    assert raw.rows(ids=[r]) == [(r, "k", "v"), (r, "pre", "1")]


def test_root_key_signs_v1_and_v3(raw):
    """The root key from the environment works under both signature schemes on the same resource."""
    r = rid()
    assert raw.v1("TagResources", rds_tag_params([r], [("v1", "y")])).status == 200
    assert raw.v3("TagResources", rds_tag_params([r], [("v3", "y")])).status == 200
    assert raw.rows(ids=[r]) == [(r, "v1", "y"), (r, "v3", "y")]


# --- more of the request shape -------------------------------------------------------------------

@pytest.mark.parametrize("rtype", ["CUSTOM", "CUSTOMDEPLOYMENTSET", "CUSTOMDISK", "CUSTOMSNAPSHOT", "customdisk"])
def test_other_rds_resource_types(raw, rtype):
    """The SDK docs list these next to INSTANCE; each is accepted and is a scope of its own."""
    r = rid("rc")
    assert raw.tag([r], [("t", rtype)], resource_type=rtype).status == 200
    rows = raw.rows(ids=[r], resource_type=rtype.upper(), expect_type=lambda t: t == "ALIYUN::RDS::" + rtype.upper())
    assert rows == [(r, "t", rtype)]
    assert raw.rows(ids=[r], resource_type="INSTANCE") == []


def test_list_indices_sorted_numerically_and_order_free(raw):
    """Repeat lists are sorted by index, never by position in the URL (Tag.10 comes after Tag.9)."""
    ids = sorted(rid() for _ in range(11))
    p = [("RegionId", REGION), ("ResourceType", "INSTANCE")]
    p += [(f"ResourceId.{i}", r) for i, r in reversed(list(enumerate(ids, 1)))]
    tags = [(f"key{i:02d}", f"val{i}") for i in range(1, 13)]
    for i, (k, v) in reversed(list(enumerate(tags, 1))):
        p += [(f"Tag.{i}.Value", v), (f"Tag.{i}.Key", k)]
    assert raw.v1("TagResources", p).status == 200
    assert raw.rows(ids=ids) == [(r, k, v) for r in ids for k, v in tags]


def test_xml_escaping(raw):
    r = rid()
    key, value = "a<b>&'\"", "x</TagValue><TagKey>y&amp;"
    assert raw.tag([r], [(key, value)]).status == 200
    resp = raw.list_page(ids=[r], fmt="XML")
    assert resp.status == 200, resp
    rows = [xml_fields(e) for e in resp.xml().findall("./TagResources/TagResource")]
    assert rows == [{"ResourceId": r, "ResourceType": RDS_TYPE, "TagKey": key, "TagValue": value}]


def test_xml_keeps_carriage_returns(raw):
    """§1.6: an XML answer carries the stored text. XML parsers turn a raw CR (and CR LF) into LF, so a
    CR must go out as a character reference to come back as itself; tab and LF survive as they are."""
    r = rid()
    key, value = "line\r\nbreak", "a\rb\tc\nd"
    assert raw.tag([r], [(key, value)]).status == 200
    resp = raw.list_page(ids=[r], fmt="XML")
    assert resp.status == 200, resp
    rows = [xml_fields(e) for e in resp.xml().findall("./TagResources/TagResource")]
    assert rows == [{"ResourceId": r, "ResourceType": RDS_TYPE, "TagKey": key, "TagValue": value}]


def test_xml_answers_stay_readable_with_control_characters(raw):
    """Tags may hold any text (§4), but XML 1.0 cannot carry most control characters at all: an XML answer
    writes them as U+FFFD so that it still parses; JSON answers carry them exactly."""
    r = rid()
    key, value = "bell\x07key", "a\x01b\x1fc\td"
    assert raw.tag([r], [(key, value)]).status == 200
    resp = raw.list_page(ids=[r], fmt="XML")
    assert resp.status == 200, resp
    rows = [xml_fields(e) for e in resp.xml().findall("./TagResources/TagResource")]
    assert rows == [{"ResourceId": r, "ResourceType": RDS_TYPE, "TagKey": "bell\ufffdkey", "TagValue": "a\ufffdb\ufffdc\td"}]
    assert raw.rows(ids=[r]) == [(r, key, value)]


def test_v1_everything_in_the_form_body(raw):
    """Action, Version, the signature parameters and Signature itself may all travel in the body (§6.2)."""
    r = rid()
    body = [("Action", "TagResources"), ("Version", RDS_VERSION), ("Format", "JSON"), ("AccessKeyId", raw.ak),
            ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"), ("SignatureNonce", uid(32)),
            ("Timestamp", utc_stamp())] + rds_tag_params([r], [("in", "body")])
    body.append(("Signature", v1_signature(raw.secret, v1_string_to_sign("POST", body))))
    resp = raw.session.post(f"{raw.server.base_url}/", data=form_encode(body).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=15)
    assert resp.status_code == 200, resp.text
    assert raw.rows(ids=[r]) == [(r, "in", "body")]


def test_nonce_recorded_only_after_signature_verifies(raw):
    r = rid()
    nonce = uid(32)
    assert_raw_error(raw.tag([r], [("k", "v")], nonce=nonce, secret="wrong"), 400, "SignatureDoesNotMatch")
    assert raw.tag([r], [("k", "v")], nonce=nonce).status == 200
    assert raw.rows(ids=[r]) == [(r, "k", "v")]


@pytest.mark.parametrize("action", ["UntagResources", "ListTagResources"])
def test_51_ids_on_untag_and_list(raw, action):
    ids = sorted(rid() for _ in range(51))
    assert raw.tag(ids[:50], [("keep", "1")]).status == 200
    p = [("RegionId", REGION), ("ResourceType", "INSTANCE")] + [(f"ResourceId.{i}", r) for i, r in enumerate(ids, 1)]
    if action == "UntagResources":
        p.append(("All", "true"))
    assert_raw_error(raw.v1(action, p), 400, "NumberExceed.ResourceIds",
                     "The maximum number of ResourceIds is exceeded. The maximum value is 50.")
    assert raw.rows(ids=ids[:50]) == [(r, "keep", "1") for r in ids[:50]]
