"""RDS 2014-08-15 tag APIs through the legacy SDK (aliyun-python-sdk-core + aliyun-python-sdk-rds, V1).

Error codes and messages of TagResources are those of shared/seeds/aliyun-rds-TagResources.txt, verbatim.
"""

import json

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import CommonRequest

from harness import RDS_TYPE, RDS_VERSION, REGION, ROOT_AK, rid, uid

# The seed's table (all HTTP 400).
MSG_TOO_MANY_TAGS = "The maximum number of Tags is exceeded. The maximum value is 20."
MSG_TAGS_NULL = "The parameter - Tags should not be null"
MSG_KEY_BLANK = "The Tag.N.Key parameter is blank"
MSG_VALUE_BLANK = "The Tag.N.Value parameter is blank"
MSG_DUP_KEY = "The Tag.N.Key contain duplicate key."
MSG_QUOTA = "The maximum number of Tags is exceeded."
MSG_TOO_MANY_IDS = "The maximum number of ResourceIds is exceeded. The maximum value is 50."
MSG_SYSTEM_TAG = "The operator is not permission for the system tag"
MSG_VALUE_INVALID = "The Tag.N.Value parameter is invalid."
# The spec's extension in the seed's style.
MSG_KEY_INVALID = "The Tag.N.Key parameter is invalid."


def legacy_error(fn, status, code, message=None) -> ServerException:
    with pytest.raises(ServerException) as ei:
        fn()
    e = ei.value
    assert (e.get_http_status(), e.get_error_code()) == (status, code), str(e)
    if message is not None:
        assert e.get_error_msg() == message, str(e)
    assert e.get_request_id(), f"no RequestId in the error: {e}"
    return e


def test_tag_list_untag_roundtrip(legacy):
    a, b = sorted([rid(), rid()])
    odd_key, odd_value = "team a*", "数据~/+="  # space, '*', non-ASCII, '~', '/', '+', '='
    body = legacy.tag([a, b], [("env", "prod"), (odd_key, odd_value)])
    assert isinstance(body.get("RequestId"), str) and body["RequestId"]

    listed = legacy.list(ids=[a, b])
    assert listed["NextToken"] == ""
    assert listed["TagResources"]["TagResource"] == [
        {"ResourceId": a, "ResourceType": RDS_TYPE, "TagKey": "env", "TagValue": "prod"},
        {"ResourceId": a, "ResourceType": RDS_TYPE, "TagKey": odd_key, "TagValue": odd_value},
        {"ResourceId": b, "ResourceType": RDS_TYPE, "TagKey": "env", "TagValue": "prod"},
        {"ResourceId": b, "ResourceType": RDS_TYPE, "TagKey": odd_key, "TagValue": odd_value},
    ]

    # Removing a key that is not attached is fine.
    assert legacy.untag([a], keys=["env", "never-set"])["RequestId"]
    assert legacy.rows(ids=[a, b]) == [(a, odd_key, odd_value), (b, "env", "prod"), (b, odd_key, odd_value)]

    assert legacy.untag([a, b], all_=True)["RequestId"]  # the SDK sends All=True
    assert legacy.rows(ids=[a, b]) == []


def test_tag_upsert_overwrites_value(legacy):
    r = rid()
    legacy.tag([r], [("k", "v1"), ("other", "o")])
    legacy.tag([r], [("k", "v2")])
    assert legacy.rows(ids=[r]) == [(r, "k", "v2"), (r, "other", "o")]


def test_keys_and_values_are_case_sensitive(legacy):
    r = rid()
    legacy.tag([r], [("Env", "Prod"), ("env", "prod")])
    assert legacy.rows(ids=[r]) == [(r, "Env", "Prod"), (r, "env", "prod")]


def test_get_method_works(legacy):
    r = rid()
    legacy.tag([r], [("via", "get")], method="GET")
    assert legacy.list(ids=[r], method="GET")["TagResources"]["TagResource"] == [
        {"ResourceId": r, "ResourceType": RDS_TYPE, "TagKey": "via", "TagValue": "get"}
    ]
    legacy.untag([r], keys=["via"], method="GET")
    assert legacy.rows(ids=[r]) == []


@pytest.mark.parametrize("rtype", ["instance", "Instance", "INSTANCE"])
def test_resource_type_is_case_insensitive(legacy, rtype):
    r = rid()
    legacy.tag([r], [("t", rtype)], resource_type=rtype)
    assert legacy.rows(ids=[r], resource_type="INSTANCE") == [(r, "t", rtype)]
    assert legacy.rows(ids=[r], resource_type="instance") == [(r, "t", rtype)]


def test_custom_resource_type_is_its_own_scope(legacy):
    r = rid("rc")
    legacy.tag([r], [("kind", "custom")], resource_type="CUSTOM")
    assert legacy.rows(ids=[r], resource_type="CUSTOM", expect_type="ALIYUN::RDS::CUSTOM") == [(r, "kind", "custom")]
    assert legacy.rows(ids=[r], resource_type="INSTANCE") == []


def test_region_id_from_client_and_other_region_sees_nothing(legacy):
    r = rid()
    legacy.tag([r], [("where", "hz")])  # RegionId comes from AcsClient(region)
    assert legacy.rows(ids=[r], region="cn-shanghai") == []
    legacy.tag([r], [("where", "sh")], region="cn-shanghai")
    assert legacy.rows(ids=[r]) == [(r, "where", "hz")]
    assert legacy.rows(ids=[r], region="cn-shanghai") == [(r, "where", "sh")]


def test_common_request_with_form_body(server, legacy):
    """CommonRequest.add_body_params: a form-encoded body that takes part in the V1 signature."""
    r = rid()
    req = CommonRequest(domain=server.endpoint, version=RDS_VERSION, action_name="TagResources", product="Rds")
    req.set_method("POST")
    req.set_protocol_type("http")
    req.set_accept_format("json")
    req.add_query_param("RegionId", REGION)
    for k, v in [("ResourceType", "INSTANCE"), ("ResourceId.1", r), ("Tag.1.Key", "k 1"), ("Tag.1.Value", "v+1 &=")]:
        req.add_body_params(k, v)
    body = json.loads(legacy.client.do_action_with_exception(req))
    assert body["RequestId"]
    assert legacy.rows(ids=[r]) == [(r, "k 1", "v+1 &=")]


def test_a_body_over_a_mib_gets_the_error_body(server, legacy):
    """A form body larger than tagd takes (1 MiB) is refused with the error body of §1.6 in the format asked
    for, which the SDK reads as a ServerException, and nothing changes."""
    r = rid()
    req = CommonRequest(domain=server.endpoint, version=RDS_VERSION, action_name="TagResources", product="Rds")
    req.set_method("POST")
    req.set_protocol_type("http")
    req.set_accept_format("json")
    req.add_query_param("RegionId", REGION)
    for k, v in [("ResourceType", "INSTANCE"), ("ResourceId.1", r), ("Tag.1.Key", "k"), ("Tag.1.Value", "v" * (1 << 20))]:
        req.add_body_params(k, v)
    e = legacy_error(lambda: legacy.client.do_action_with_exception(req), 400, "InvalidParameter")
    assert "larger than 1048576 bytes" in e.get_error_msg(), str(e)
    assert legacy.rows(ids=[r]) == []


# --- TagResources errors (seed) -------------------------------------------------------------

def _tags(n, prefix="k"):
    return [(f"{prefix}{i}", f"v{i}") for i in range(n)]


LEGACY_TAG_ERRORS = [
    # id, ids-count, tags, resource_type, status, code, message
    ("21-tags", 1, _tags(21), "INSTANCE", 400, "NumberExceed.Tags", MSG_TOO_MANY_TAGS),
    ("no-tags", 1, None, "INSTANCE", 400, "MissingParameter", MSG_TAGS_NULL),
    ("blank-key", 1, [("   ", "v")], "INSTANCE", 400, "InvalidTagKey.Malformed", MSG_KEY_BLANK),
    ("blank-value", 1, [("k", "  \t ")], "INSTANCE", 400, "InvalidTagValue.Malformed", MSG_VALUE_BLANK),
    ("duplicate-key", 1, [("dup", "1"), ("x", "y"), ("dup", "2")], "INSTANCE", 400, "Duplicate.TagKey", MSG_DUP_KEY),
    ("51-ids", 51, [("k", "v")], "INSTANCE", 400, "NumberExceed.ResourceIds", MSG_TOO_MANY_IDS),
    ("aliyun-prefix", 1, [("aliyun-owner", "v")], "INSTANCE", 400, "InvalidTagKey.Malformed", MSG_SYSTEM_TAG),
    ("aliyun-bare", 1, [("aliyun", "v")], "INSTANCE", 400, "InvalidTagKey.Malformed", MSG_SYSTEM_TAG),
    ("acs-prefix", 1, [("acs:rm:rgId", "v")], "INSTANCE", 400, "InvalidTagKey.Malformed", MSG_SYSTEM_TAG),
    ("value-129", 1, [("k", "v" * 129)], "INSTANCE", 400, "InvalidTagValue.Malformed", MSG_VALUE_INVALID),
    ("value-129-cjk", 1, [("k", "数" * 129)], "INSTANCE", 400, "InvalidTagValue.Malformed", MSG_VALUE_INVALID),
    ("value-http", 1, [("k", "see http://example.com")], "INSTANCE", 400, "InvalidTagValue.Malformed",
     MSG_VALUE_INVALID),
    ("value-https", 1, [("k", "https://example.com")], "INSTANCE", 400, "InvalidTagValue.Malformed",
     MSG_VALUE_INVALID),
    ("key-129", 1, [("k" * 129, "v")], "INSTANCE", 400, "InvalidTagKey.Malformed", MSG_KEY_INVALID),
    ("key-http", 1, [("a http://x", "v")], "INSTANCE", 400, "InvalidTagKey.Malformed", MSG_KEY_INVALID),
    ("key-https", 1, [("https://x", "v")], "INSTANCE", 400, "InvalidTagKey.Malformed", MSG_KEY_INVALID),
    ("bad-one-of-many", 1, [("ok1", "v"), ("ok2", "v"), ("acs:x", "v")], "INSTANCE", 400, "InvalidTagKey.Malformed",
     MSG_SYSTEM_TAG),
    ("unknown-type", 1, [("k", "v")], "BUCKET", 404, "InvalidResourceType.NotFound", None),
]


@pytest.mark.parametrize("n_ids,tags,rtype,status,code,message",
                         [c[1:] for c in LEGACY_TAG_ERRORS], ids=[c[0] for c in LEGACY_TAG_ERRORS])
def test_tag_resources_errors_change_nothing(legacy, n_ids, tags, rtype, status, code, message):
    ids = sorted(rid() for _ in range(n_ids))
    # Every resource already carries a tag; the failing request must leave all of them as they were.
    for i in range(0, len(ids), 50):
        legacy.tag(ids[i:i + 50], [("pre", "1")])
    before = legacy.rows(ids=ids[:50])
    assert len(before) == min(n_ids, 50)
    legacy_error(lambda: legacy.tag(ids, tags, resource_type=rtype), status, code, message)
    assert legacy.rows(ids=ids[:50]) == before
    if n_ids > 50:
        assert legacy.rows(ids=ids[50:]) == [(i, "pre", "1") for i in ids[50:]]


def test_tag_limits_are_inclusive(legacy):
    """Exactly 50 ids, 20 tags, 128-character keys and values (characters, not bytes) are accepted."""
    ids = sorted(rid() for _ in range(50))
    tags = _tags(20)
    legacy.tag(ids, tags)
    rows = legacy.rows(ids=ids)
    assert len(rows) == 50 * 20
    assert rows == [(i, k, v) for i in ids for k, v in sorted(tags)]

    r = rid()
    long_key, long_value = "键" * 128, "数" * 128
    legacy.tag([r], [(long_key, long_value), ("k" * 128, "v" * 128), ("empty", "")])
    assert legacy.rows(ids=[r]) == sorted([(r, long_key, long_value), (r, "k" * 128, "v" * 128), (r, "empty", "")])


def test_quota_counts_after_overwrite(legacy):
    r = rid()
    legacy.tag([r], _tags(18))
    legacy.tag([r], [("k0", "new0"), ("k1", "new1"), ("x", "1"), ("y", "2")])  # 18 + 2 new = 20
    assert len(legacy.rows(ids=[r])) == 20
    legacy.tag([r], [(f"k{i}", "again") for i in range(10)])  # overwrite only: still 20
    rows = legacy.rows(ids=[r])
    assert len(rows) == 20 and (r, "k0", "again") in rows
    legacy_error(lambda: legacy.tag([r], [("k0", "z"), ("one-more", "1")]), 400, "OperationDenied.QuotaExceed",
                 MSG_QUOTA)
    assert legacy.rows(ids=[r]) == rows


def test_quota_exceeded_on_one_resource_changes_neither(legacy):
    full, free = rid(), rid()
    legacy.tag([full], _tags(19))
    legacy.tag([free], [("a", "1")])
    before_full, before_free = legacy.rows(ids=[full]), legacy.rows(ids=[free])
    legacy_error(lambda: legacy.tag([free, full], [("new1", "x"), ("new2", "y")]), 400, "OperationDenied.QuotaExceed",
                 MSG_QUOTA)
    assert legacy.rows(ids=[full]) == before_full
    assert legacy.rows(ids=[free]) == before_free


# --- authentication through the legacy SDK -------------------------------------------------

def test_wrong_secret_surfaces_as_invalid_access_key_secret(server):
    """The SDK rewrites SignatureDoesNotMatch to InvalidAccessKeySecret only when the server's
    string-to-sign (after the first ':') equals its own: proves the server echoes it exactly."""
    bad = server.legacy(ak=ROOT_AK, secret="not-the-secret-" + uid())
    r = rid()
    legacy_error(lambda: bad.tag([r], [("k", "v")]), 400, "InvalidAccessKeySecret")
    legacy_error(lambda: bad.list(ids=[r], method="GET"), 400, "InvalidAccessKeySecret")
    assert server.legacy().rows(ids=[r]) == []


def test_unknown_access_key(server):
    ghost = server.legacy(ak="LTAI" + uid(20), secret="whatever-secret")
    legacy_error(lambda: ghost.list(ids=[rid()]), 404, "InvalidAccessKeyId.NotFound")
