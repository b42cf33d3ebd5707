"""Tag service 2018-08-28: the catalogue (ListTagKeys, ListTagValues), preset tags (CreateTags, DeleteTag) and
ListResourcesByTag, through both SDKs. Contract: docs/aliyun-tag-service.md, "Operations".

Each test works in an account of its own, so unfiltered catalogue listings are exact.
"""

import pytest

from harness import TagAccount, arn, expect_tag_error, rid

SDK_KINDS = ["legacy", "tea"]
ECS, RDS, OSS = "ALIYUN::ECS::INSTANCE", "ALIYUN::RDS::INSTANCE", "ALIYUN::OSS::BUCKET"


def names(keys):
    return [k["Key"] for k in keys]


def key_entry(k, description=""):
    return {"Key": k, "Category": "custom", "Description": description}


@pytest.fixture(params=SDK_KINDS)
def api(request, tag_account):
    return tag_account.client(request.param)


def test_keys_and_values_follow_the_resources(api):
    r1, r2 = arn("rds", "instance", rid()), arn("ecs", "instance", rid("i"))
    assert api.all_keys() == []
    assert api.all_values("shared") == []

    api.tag_ok([r1], {"shared": "a", "only1": "x"})
    assert api.all_keys() == [key_entry("only1"), key_entry("shared")]
    assert api.all_values("shared") == ["a"]
    api.tag_ok([r2], {"shared": "b"})
    assert api.all_values("shared") == ["a", "b"]

    # Overwriting the only carrier of a value drops it at once.
    api.tag_ok([r1], {"shared": "b"})
    assert api.all_values("shared") == ["b"]
    # A key stays while some resource carries it ...
    api.untag([r1], ["shared"])
    assert names(api.all_keys()) == ["only1", "shared"]
    assert api.all_values("shared") == ["b"]
    # ... and leaves as soon as none does (its values too; asking is not an error).
    api.untag([r2], ["shared"])
    assert names(api.all_keys()) == ["only1"]
    assert api.all_values("shared") == []
    api.untag([r1], ["only1"])
    assert api.all_keys() == []
    assert api.all_values("only1") == []
    # Used again: back again.
    api.tag_ok([r2], {"shared": "c"})
    assert names(api.all_keys()) == ["shared"]
    assert api.all_values("shared") == ["c"]


def test_ascending_order(api):
    """Keys and values are listed in ascending (code point) order, across pages too."""
    keys = ["Zeta", "alpha", "Beta", "_x", "1", "éclair", "a-b", "a"]
    api.tag_ok([arn("rds", "instance", rid())], {k: "v" for k in keys})
    assert names(api.all_keys()) == sorted(keys)
    assert names(api.all_keys(page_size=3)) == sorted(keys)
    values = ["b", "B", "a", "10", "9", "ä"]
    for v in values:
        api.tag_ok([arn("ecs", "instance", rid("i"))], {"multi": v})
    assert api.all_values("multi") == sorted(values)
    assert api.all_values("multi", page_size=1) == sorted(values)


def test_prefix_and_equal_filters(api):
    a = arn("rds", "instance", rid())
    b = arn("rds", "instance", rid())
    c = arn("rds", "instance", rid())
    api.tag_ok([a], {"env": "prod", "env-name": "x", "environment": "y", "team": "core", "xenv": "z"})
    api.tag_ok([b], {"env": "prod-eu"})
    api.tag_ok([c], {"env": "preprod", "team": "envoy"})

    assert names(api.all_keys(fuzzy_type="PREFIX", key_filter="env")) == ["env", "env-name", "environment"]
    assert names(api.all_keys(fuzzy_type="PREFIX", key_filter="env-")) == ["env-name"]
    assert names(api.all_keys(fuzzy_type="PREFIX", key_filter="nope")) == []
    assert names(api.all_keys(key_filter="env")) == ["env"]  # EQUAL is the default
    assert names(api.all_keys(fuzzy_type="EQUAL", key_filter="environment")) == ["environment"]
    assert names(api.all_keys(fuzzy_type="EQUAL", key_filter="envi")) == []
    pages = []
    assert names(api.all_keys(fuzzy_type="PREFIX", key_filter="env", page_size=1, pages_out=pages)) == \
        ["env", "env-name", "environment"]
    assert [len(items) for items, _ in pages if items] == [1, 1, 1]

    assert api.all_values("env", fuzzy_type="PREFIX", value_filter="prod") == ["prod", "prod-eu"]
    assert api.all_values("env", fuzzy_type="PREFIX", value_filter="pre") == ["preprod"]
    assert api.all_values("env", value_filter="prod") == ["prod"]
    assert api.all_values("env", fuzzy_type="EQUAL", value_filter="prod-eu") == ["prod-eu"]
    assert api.all_values("env", fuzzy_type="EQUAL", value_filter="pro") == []
    assert api.all_values("team", fuzzy_type="PREFIX", value_filter="env") == ["envoy"]
    assert api.all_values("env", fuzzy_type="PREFIX", value_filter="p", page_size=2) == ["preprod", "prod", "prod-eu"]

    # Preset keys and values take the same filters under MetaTag.
    api.create_tags([{"Key": "cc-a", "TagValueParamList": [{"Value": "v-1"}, {"Value": "w-1"}]},
                     {"Key": "cc-b"}, {"Key": "dd"}])
    assert names(api.all_keys(query_type="MetaTag", fuzzy_type="PREFIX", key_filter="cc")) == ["cc-a", "cc-b"]
    assert names(api.all_keys(query_type="MetaTag", key_filter="dd")) == ["dd"]
    assert api.all_values("cc-a", query_type="MetaTag", fuzzy_type="PREFIX", value_filter="v") == ["v-1"]


def test_resource_type_filter(api):
    e, r, o = arn("ecs", "instance", rid("i")), arn("rds", "instance", rid()), arn("oss", "bucket", rid("bkt"))
    api.tag_ok([e], {"ecs-only": "1", "both": "e"})
    api.tag_ok([r], {"rds-only": "1", "both": "r"})
    api.tag_ok([o], {"oss-only": "1"})

    assert names(api.all_keys()) == ["both", "ecs-only", "oss-only", "rds-only"]
    assert names(api.all_keys(resource_type=ECS)) == ["both", "ecs-only"]
    assert names(api.all_keys(resource_type=RDS)) == ["both", "rds-only"]
    assert names(api.all_keys(resource_type=OSS)) == ["oss-only"]
    assert names(api.all_keys(resource_type="ALIYUN::VPC::VPC")) == []
    assert names(api.all_keys(resource_type=ECS, fuzzy_type="PREFIX", key_filter="b")) == ["both"]
    assert api.all_values("both") == ["e", "r"]
    assert api.all_values("both", resource_type=ECS) == ["e"]
    assert api.all_values("both", resource_type=RDS) == ["r"]
    assert api.all_values("both", resource_type=OSS) == []
    # The filter follows the resources: untag the ECS one and ECS has no keys left.
    api.untag([e], ["ecs-only", "both"])
    assert names(api.all_keys(resource_type=ECS)) == []
    assert names(api.all_keys(resource_type=RDS)) == ["both", "rds-only"]


def test_preset_tags(api, tag_account):
    api.create_tags([
        {"Key": "owner", "Description": "who owns it",
         "TagValueParamList": [{"Value": "bob", "Description": "B"}, {"Value": "alice", "Description": "A"}]},
        {"Key": "bare"},
    ])
    # Only under MetaTag, with the Description; not under ResourceTag (the default).
    assert api.all_keys(query_type="MetaTag") == [key_entry("bare"), key_entry("owner", "who owns it")]
    assert api.all_keys(query_type="metatag") == api.all_keys(query_type="MetaTag")  # any case
    assert api.all_keys() == []
    assert api.all_keys(query_type="ResourceTag") == []
    assert api.all_keys(query_type="resourcetag") == []
    assert api.all_values("owner", query_type="MetaTag") == ["alice", "bob"]
    assert api.all_values("bare", query_type="MetaTag") == []
    assert api.all_values("owner") == []  # a preset-only key lists no resource values, and is no error
    assert api.all_keys(query_type="MetaTag", category="custom") == api.all_keys(query_type="MetaTag")
    assert api.all_keys(query_type="MetaTag", category="system") == []

    # A resource carrying the key brings it under ResourceTag, with the resource's value only.
    r = arn("rds", "instance", rid())
    api.tag_ok([r], {"owner": "carol"})
    assert names(api.all_keys()) == ["owner"]
    assert names(api.all_keys(query_type="RESOURCETAG")) == ["owner"]
    assert api.all_values("owner") == ["carol"]
    assert api.all_values("owner", query_type="MetaTag") == ["alice", "bob"]
    assert names(api.all_keys(query_type="MetaTag")) == ["bare", "owner"]

    # Idempotent: CreateTags again updates the description and adds values. Any RegionId; account-wide.
    api.create_tags([{"Key": "owner", "Description": "new text", "TagValueParamList": [{"Value": "dave"},
                                                                                       {"Value": "alice"}]}],
                    region="cn-shanghai")
    api.create_tags([{"Key": "regional", "Description": "made in Beijing"}], region="cn-beijing")
    for region in ("cn-hangzhou", "cn-shanghai", "ap-southeast-1"):
        assert api.all_keys(query_type="MetaTag", region=region) == \
            [key_entry("bare"), key_entry("owner", "new text"), key_entry("regional", "made in Beijing")], region
        assert api.all_values("owner", query_type="MetaTag", region=region) == ["alice", "bob", "dave"], region

    # DeleteTag: a key with values needs its values deleted first.
    expect_tag_error(lambda: api.delete_tag("owner"), "MetaTagKeyHasValue")
    expect_tag_error(lambda: api.delete_tag("owner", "zed"), "MetaTagKeyNotFound")
    expect_tag_error(lambda: api.delete_tag("nobody"), "MetaTagKeyNotFound")
    assert api.all_values("owner", query_type="MetaTag") == ["alice", "bob", "dave"]
    for v in ("alice", "bob"):
        api.delete_tag("owner", v)
    assert api.all_values("owner", query_type="MetaTag") == ["dave"]
    expect_tag_error(lambda: api.delete_tag("owner", "alice"), "MetaTagKeyNotFound")
    expect_tag_error(lambda: api.delete_tag("owner"), "MetaTagKeyHasValue")
    api.delete_tag("owner", "dave")
    api.delete_tag("owner")
    assert names(api.all_keys(query_type="MetaTag")) == ["bare", "regional"]
    expect_tag_error(lambda: api.delete_tag("owner"), "MetaTagKeyNotFound")
    expect_tag_error(lambda: api.all_values("owner", query_type="MetaTag"), "MetaTagKeyNotFound")
    api.delete_tag("bare", region="cn-shanghai")
    assert names(api.all_keys(query_type="MetaTag")) == ["regional"]
    # Deleting the preset did not touch the resource's tag.
    assert api.tags_of(r) == {"owner": "carol"}
    assert names(api.all_keys()) == ["owner"]

    # Preset tags are per account.
    other = TagAccount(tag_account.server).client("raw-v1")
    assert other.all_keys(query_type="MetaTag") == []
    expect_tag_error(lambda: other.all_values("regional", query_type="MetaTag"), "MetaTagKeyNotFound")
    expect_tag_error(lambda: other.delete_tag("regional"), "MetaTagKeyNotFound")
    assert names(api.all_keys(query_type="MetaTag")) == ["regional"]


def test_create_tags_takes_ten_keys_of_ten_values(api):
    """CreateTags: N = 1..10 keys, each with M = 1..10 values (spec §3.4); one more of either is refused."""
    keys = [f"pk-{i}" for i in range(10)]
    values = sorted(f"pv-{j}" for j in range(10))
    api.create_tags([{"Key": k, "TagValueParamList": [{"Value": v} for v in values]} for k in keys])
    assert names(api.all_keys(query_type="MetaTag")) == keys
    assert all(api.all_values(k, query_type="MetaTag") == values for k in keys)
    expect_tag_error(lambda: api.create_tags([{"Key": f"x-{i}"} for i in range(11)]), "NumberExceed.Tags")
    expect_tag_error(lambda: api.create_tags([{"Key": "pk-0", "TagValueParamList": [{"Value": f"w-{j}"}
                                                                                  for j in range(11)]}]),
                     "NumberExceed.Tags")
    assert names(api.all_keys(query_type="MetaTag")) == keys
    assert api.all_values("pk-0", query_type="MetaTag") == values


def test_list_resources_by_tag(api):
    r1, r2, r3 = sorted(rid() for _ in range(3))
    i1 = rid("i")
    api.tag_ok([arn("rds", "instance", r1)], {"env": "prod", "team": "a"})
    api.tag_ok([arn("rds", "instance", r2)], {"env": "dev"})
    api.tag_ok([arn("rds", "instance", r3)], {"team": "b"})
    api.tag_ok([arn("ecs", "instance", i1)], {"env": "prod"})

    # Key only: any value; only the matching tag is returned by default.
    assert api.all_by_tag(RDS, "env") == [(r1, [("env", "prod", "custom")]), (r2, [("env", "dev", "custom")])]
    assert api.all_by_tag(RDS, "env", include_all_tags=False) == api.all_by_tag(RDS, "env")
    # Key and value.
    assert api.all_by_tag(RDS, "env", "prod") == [(r1, [("env", "prod", "custom")])]
    assert api.all_by_tag(RDS, "env", "staging") == []
    assert api.all_by_tag(RDS, "nobody") == []
    # IncludeAllTags: every tag of each matching resource.
    assert api.all_by_tag(RDS, "env", include_all_tags=True) == \
        [(r1, [("env", "prod", "custom"), ("team", "a", "custom")]), (r2, [("env", "dev", "custom")])]
    assert api.all_by_tag(RDS, "team", "b", include_all_tags=True) == [(r3, [("team", "b", "custom")])]
    # The type is part of the query.
    assert api.all_by_tag(ECS, "env") == [(i1, [("env", "prod", "custom")])]
    assert api.all_by_tag(OSS, "env") == []
    # FuzzyType EQUAL is accepted.
    body = api.by_tag(RDS, "env", "prod", fuzzy_type="EQUAL")
    assert [x["ResourceId"] for x in body["Resources"]] == [r1]

    # MaxResult pages; every resource once; last NextToken "".
    ids = sorted(rid() for _ in range(5))
    api.tag_ok([arn("rds", "instance", x) for x in ids], {"pg": "1"})
    want = [(x, [("pg", "1", "custom")]) for x in ids]
    for size, shape in ((1, [1] * 5), (2, [2, 2, 1]), (1000, [5])):
        pages = []
        assert api.all_by_tag(RDS, "pg", max_result=size, pages_out=pages) == want
        assert [len(items) for items, _ in pages if items] == shape, (size, pages)
        assert pages[-1][1] == ""
    pages = []
    assert api.all_by_tag(RDS, "pg", "1", include_all_tags=True, max_result=2, pages_out=pages) == want
    assert [len(items) for items, _ in pages if items] == [2, 2, 1]
