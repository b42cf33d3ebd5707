"""Tag service 2018-08-28 together with the rest of tagd: the RDS API on the same store, any product and type,
isolation between accounts and regions, and `--resources registered`.

Contract: docs/aliyun-tag-service.md ("Resources, ARNs and types", "Isolation", per-resource failures) and
shared/spec/aliyun.md §3.7, §6 items 10-11.
"""

import threading

import pytest

from harness import (MSG_RESOURCE_NOT_FOUND, REGION, BceAccount, TagAccount, arn, assert_raw_error, canonical_arn,
                     expect_tag_error, msg_arn_account, msg_arn_region, msg_tag_value, retire_server, rid,
                     root_account_id, spawn_server, tag_client, uid)

SDK_KINDS = ["legacy", "tea"]
ECS, RDS = "ALIYUN::ECS::INSTANCE", "ALIYUN::RDS::INSTANCE"
OTHER_REGION = "cn-shanghai"


def custom(*pairs):
    return sorted((k, v, "Custom") for k, v in pairs)


# --- The RDS API and the Tag service share one store ----------------------------------------------

@pytest.mark.parametrize("kind", SDK_KINDS)
def test_tag_service_writes_rds_reads(tag_account, kind):
    acct = tag_account
    api, rds = acct.client(kind), acct.rds()
    r = rid()
    a = f"arn:acs:rds:{REGION}:{acct.id}:instance/{r}"
    api.tag_ok([a], {"env": "prod", "team": "core"})
    assert rds.rows(ids=[r]) == [(r, "env", "prod"), (r, "team", "core")]  # ResourceType ALIYUN::RDS::INSTANCE
    assert rds.rows(tags=[("env", "prod")]) == [(r, "env", "prod"), (r, "team", "core")]
    # RDS untag is seen by the Tag service, catalogue included.
    assert rds.untag([r], ["env"]).status == 200
    assert api.all_resources() == [(acct.arn("rds", "instance", r), custom(("team", "core")))]
    assert [k["Key"] for k in api.all_keys()] == ["team"]
    assert rds.untag([r], all_="true").status == 200
    assert api.all_resources() == []
    assert api.all_keys() == []


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_rds_writes_tag_service_reads(tag_account, kind):
    acct = tag_account
    api, rds = acct.client(kind), acct.rds()
    r = rid()
    assert rds.tag([r], [("a", "1"), ("b", "2")]).status == 200
    c = acct.arn("rds", "instance", r)
    assert api.all_resources() == [(c, custom(("a", "1"), ("b", "2")))]
    assert api.all_resources(arns=[arn("rds", "instance", r, prefix="")]) == [(c, custom(("a", "1"), ("b", "2")))]
    assert [k["Key"] for k in api.all_keys(resource_type=RDS)] == ["a", "b"]
    assert api.all_values("a", resource_type=RDS) == ["1"]
    assert api.all_by_tag(RDS, "a", include_all_tags=True) == [(r, [("a", "1", "custom"), ("b", "2", "custom")])]
    api.untag([c], ["a"])
    assert rds.rows(ids=[r]) == [(r, "b", "2")]
    api.tag_ok([c], {"b": "two", "c": "3"})
    assert rds.rows(ids=[r]) == [(r, "b", "two"), (r, "c", "3")]
    # An empty value (allowed by RDS, not by the Tag service, spec §4) reads back as "" through the Tag service.
    assert rds.tag([r], [("d", "")]).status == 200
    assert api.tags_of(c) == {"b": "two", "c": "3", "d": ""}
    assert api.all_by_tag(RDS, "d") == [(r, [("d", "", "custom")])]
    expect_tag_error(lambda: api.tag([c], {"d": ""}), "InvalidParameter.TagValue", msg_tag_value(""))


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_twenty_tags_counted_across_both_apis(tag_account, kind):
    acct = tag_account
    api, rds = acct.client(kind), acct.rds()
    r, other = rid(), rid()
    c = acct.arn("rds", "instance", r)
    assert rds.tag([r], [(f"rds{i:02d}", "v") for i in range(15)]).status == 200
    before = rds.rows(ids=[r])
    assert len(before) == 15

    body = api.tag([c, arn("rds", "instance", other)], {f"tag{i}": "v" for i in range(6)})
    assert [(f["ResourceARN"], f["Result"]["Code"]) for f in body["FailedResources"]["FailedResource"]] == \
        [(c, "QuotaExceed.TagsPerResource")]
    assert rds.rows(ids=[r]) == before
    assert len(api.tags_of(arn("rds", "instance", other))) == 6

    api.tag_ok([c], {f"tag{i}": "v" for i in range(5)})  # 15 + 5 = 20
    assert len(rds.rows(ids=[r])) == 20
    # The RDS API now refuses a 21st (the seed's code), and accepts an overwrite.
    assert_raw_error(rds.tag([r], [("one-more", "v")]), 400, "OperationDenied.QuotaExceed",
                     "The maximum number of Tags is exceeded.")
    assert rds.tag([r], [("rds00", "changed"), ("tag0", "changed")]).status == 200
    tags = api.tags_of(c)
    assert len(tags) == 20 and tags["rds00"] == "changed" and tags["tag0"] == "changed"


def test_twenty_tags_hold_under_concurrent_writes(tag_account):
    """12 concurrent writers (6 per API) each add one new key to a resource carrying 18: exactly 2 win."""
    acct = tag_account
    api = acct.client("raw-v1")
    r = rid()
    a = acct.arn("rds", "instance", r)
    base = {f"q{i:02d}": "v" for i in range(18)}
    api.tag_ok([a], dict(list(base.items())[:10]))
    api.tag_ok([a], dict(list(base.items())[10:]))
    results = {}

    def via_tag_service(i):
        body = acct.client("raw-v1").tag([a], {f"tag{i}": "v"})
        failed = body.get("FailedResources", {}).get("FailedResource", [])
        results[f"tag{i}"] = [(f["ResourceARN"], f["Result"]["Code"]) for f in failed] if failed else "ok"

    def via_rds(i):
        resp = acct.rds().tag([r], [(f"rds{i}", "v")])
        results[f"rds{i}"] = "ok" if resp.status == 200 else resp.json()["Code"]

    threads = [threading.Thread(target=via_tag_service, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=via_rds, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 12, results
    winners = sorted(k for k, v in results.items() if v == "ok")
    assert len(winners) == 2, results
    refused = {"tag": [(a, "QuotaExceed.TagsPerResource")], "rds": "OperationDenied.QuotaExceed"}
    for k, v in results.items():
        assert v == "ok" or v == refused[k[:3]], results
    assert api.tags_of(a) == {**base, **{k: "v" for k in winners}}


# --- Any product and type ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", SDK_KINDS)
def test_any_product_and_type(tag_account, kind):
    acct = tag_account
    api, rds = acct.client(kind), acct.rds()
    same = rid("x")  # one id under two types: two resources
    bucket, widget, disk = f"bkt-{uid(8)}", f"w-{uid(8)}", rid("d")
    api.tag_ok([arn("ecs", "instance", same), arn("oss", "bucket", bucket, prefix=""),
                arn("foo", "widget", widget), arn("ecs", "disk", disk)], {"k": "shared"})
    api.tag_ok([arn("rds", "instance", same)], {"k": "rds", "only-rds": "1"})
    api.tag_ok([arn("ecs", "instance", same)], {"only-ecs": "1"})

    want = [  # canonical type order: ECS::DISK, ECS::INSTANCE, FOO::WIDGET, OSS::BUCKET, RDS::INSTANCE
        (acct.arn("ecs", "disk", disk), custom(("k", "shared"))),
        (acct.arn("ecs", "instance", same), custom(("k", "shared"), ("only-ecs", "1"))),
        (acct.arn("foo", "widget", widget), custom(("k", "shared"))),
        (acct.arn("oss", "bucket", bucket), custom(("k", "shared"))),
        (acct.arn("rds", "instance", same), custom(("k", "rds"), ("only-rds", "1"))),
    ]
    assert api.all_resources() == want
    assert api.all_resources(page_size=2) == want
    assert api.all_resources(tags={"k": "shared"}) == want[:4]
    assert [k["Key"] for k in api.all_keys(resource_type="ALIYUN::FOO::WIDGET")] == ["k"]
    assert [k["Key"] for k in api.all_keys(resource_type=ECS)] == ["k", "only-ecs"]
    assert api.all_by_tag("ALIYUN::OSS::BUCKET", "k") == [(bucket, [("k", "shared", "custom")])]
    assert api.all_by_tag("ALIYUN::FOO::WIDGET", "k", "shared") == [(widget, [("k", "shared", "custom")])]
    assert api.all_by_tag(ECS, "k", include_all_tags=True) == \
        [(same, [("k", "shared", "custom"), ("only-ecs", "1", "custom")])]
    # The RDS API sees only the RDS resource of that id.
    assert rds.rows(ids=[same]) == [(same, "k", "rds"), (same, "only-rds", "1")]
    # Untagging one type leaves the other alone.
    api.untag([arn("ecs", "instance", same)], ["k", "only-ecs"])
    assert api.tags_of(acct.arn("rds", "instance", same)) == {"k": "rds", "only-rds": "1"}
    assert api.all_resources(arns=[arn("ecs", "instance", same)]) == []


def test_resource_id_is_everything_after_the_first_slash(tag_account):
    acct = tag_account
    api = acct.client("raw-v1")
    rid_ = f"w-{uid(6)}/sub/part:x"
    api.tag_ok([arn("foo", "widget", rid_)], {"k": "v"})
    c = f"arn:acs:foo:{REGION}:{acct.id}:widget/{rid_}"
    assert api.all_resources() == [(c, custom(("k", "v")))]
    assert api.all_by_tag("ALIYUN::FOO::WIDGET", "k") == [(rid_, [("k", "v", "custom")])]
    # 1-256 characters, anything but whitespace.
    long_id, odd_id = "L" * 256, f"数据-{uid(4)}~!@#$%^&*()"
    api.tag_ok([arn("foo", "widget", long_id), arn("foo", "widget", odd_id)], {"k": "v"})
    assert sorted(r for r, _ in api.all_by_tag("ALIYUN::FOO::WIDGET", "k")) == sorted([rid_, long_id, odd_id])
    assert api.all_resources(arns=[arn("foo", "widget", odd_id)]) == \
        [(f"arn:acs:foo:{REGION}:{acct.id}:widget/{odd_id}", custom(("k", "v")))]


# --- Isolation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", SDK_KINDS)
def test_isolation_between_accounts(server, kind):
    root_id = root_account_id(server)
    root = tag_client(server, kind)
    r = rid()
    mine = canonical_arn("rds", "instance", r, root_id)
    key = "iso-" + uid(6)
    root.tag_ok([arn("rds", "instance", r, account=root_id)], {key: "root"})
    assert root.all_resources(arns=[mine]) == [(mine, custom((key, "root")))]
    preset = "preset-" + uid(6)
    root.create_tags([{"Key": preset, "TagValueParamList": [{"Value": "pv"}]}])

    other_acct = TagAccount(server)
    other = other_acct.client(kind)
    # Every read of the other account sees nothing of root's.
    assert other.all_resources() == []
    assert other.all_resources(tags={key: "root"}) == []
    assert other.all_resources(arns=[arn("rds", "instance", r)]) == []  # `*` is the caller's own account
    assert other.all_keys() == []
    assert other.all_keys(query_type="MetaTag") == []
    assert other.all_values(key) == []
    assert other.all_by_tag(RDS, key) == []
    expect_tag_error(lambda: other.all_values(preset, query_type="MetaTag"), "MetaTagKeyNotFound")
    expect_tag_error(lambda: other.delete_tag(preset, "pv"), "MetaTagKeyNotFound")
    # Naming root's account in an ARN is refused, on reads and writes alike, and returns no data.
    e = expect_tag_error(lambda: other.list_resources(arns=[mine]), "InvalidResourceARN.Account",
                         msg_arn_account(mine))
    assert "TagResources" not in (e.body or {})
    expect_tag_error(lambda: other.tag([mine], {key: "other"}), "InvalidResourceARN.Account", msg_arn_account(mine))
    expect_tag_error(lambda: other.untag([mine], [key]), "InvalidResourceARN.Account", msg_arn_account(mine))
    # The same resource id in the other account is its own resource.
    other.tag_ok([arn("rds", "instance", r)], {key: "other"})
    assert other.all_resources() == [(other_acct.arn("rds", "instance", r), custom((key, "other")))]
    assert root.all_resources(arns=[mine]) == [(mine, custom((key, "root")))]
    assert root.all_values(preset, query_type="MetaTag") == ["pv"]
    # And root is refused the other account's ARN.
    theirs = other_acct.arn("rds", "instance", r)
    expect_tag_error(lambda: root.list_resources(arns=[theirs]), "InvalidResourceARN.Account", msg_arn_account(theirs))
    root.untag([mine], [key])
    root.delete_tag(preset, "pv")
    root.delete_tag(preset)


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_isolation_between_regions(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    r = rid()
    api.tag_ok([arn("rds", "instance", r)], {"env": "prod"})
    api.create_tags([{"Key": "preset", "TagValueParamList": [{"Value": "pv"}]}])

    sh = dict(region=OTHER_REGION)
    assert api.all_resources(**sh) == []
    assert api.all_resources(arns=[arn("rds", "instance", r, region="*")], **sh) == []
    assert api.all_keys(**sh) == []
    assert api.all_values("env", **sh) == []
    assert api.all_by_tag(RDS, "env", **sh) == []
    # Preset tags are account-wide.
    assert [k["Key"] for k in api.all_keys(query_type="MetaTag", **sh)] == ["preset"]
    # An ARN naming another region than RegionId is refused.
    hz = arn("rds", "instance", r, region=REGION)
    expect_tag_error(lambda: api.list_resources(arns=[hz], **sh), "InvalidResourceARN.Region", msg_arn_region(hz))
    expect_tag_error(lambda: api.tag([hz], {"env": "sh"}, **sh), "InvalidResourceARN.Region", msg_arn_region(hz))
    # The same id in the other region is another resource.
    api.tag_ok([arn("rds", "instance", r, region=OTHER_REGION)], {"env": "sh"}, **sh)
    assert api.all_resources(**sh) == [(acct.arn("rds", "instance", r, OTHER_REGION), custom(("env", "sh")))]
    assert api.all_resources() == [(acct.arn("rds", "instance", r), custom(("env", "prod")))]
    assert api.all_values("env") == ["prod"]
    assert api.all_values("env", **sh) == ["sh"]
    # RDS API: the same split.
    rds = acct.rds()
    assert rds.rows(ids=[r]) == [(r, "env", "prod")]
    assert rds.rows(ids=[r], region=OTHER_REGION) == [(r, "env", "sh")]


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_baidu_types_are_not_tag_service_types(server, kind):
    """ResourceType names an Alibaba type, `ALIYUN::<Product>::<Type>` (spec §3.3): a Baidu type (`BCE::…`)
    is 403 InvalidParameter.ResourceType in ListTagKeys, ListTagValues and ListResourcesByTag, and the
    account's Baidu bindings never show through the Tag service."""
    acct = BceAccount(server)
    rid_ = rid()
    acct.sdk().bind("env", "prod", "RDS", [(rid_, REGION)])
    api = tag_client(server, kind, acct.ak, acct.secret)
    for rtype in ("BCE::RDS::RESOURCE", "bce::rds::resource", "AWS::RDS::INSTANCE"):
        expect_tag_error(lambda: api.list_keys(resource_type=rtype), "InvalidParameter.ResourceType")
        expect_tag_error(lambda: api.list_values("env", resource_type=rtype), "InvalidParameter.ResourceType")
        expect_tag_error(lambda: api.by_tag(rtype, "env"), "InvalidParameter.ResourceType")
    assert api.all_keys() == [] and api.all_values("env") == []
    # The Alibaba types still answer, in any case.
    api.tag_ok([arn("rds", "instance", rid_)], {"team": "core"})
    assert api.all_by_tag("aliyun::rds::instance", "team") == [(rid_, [("team", "core", "custom")])]
    assert api.all_by_tag(RDS, "env") == []


# --- --resources registered ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def registered_server(tagd_bin, tmp_path_factory):
    s = spawn_server(tagd_bin, tmp_path_factory, "--resources", "registered")
    yield s
    retire_server(s)


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_registered_mode(registered_server, kind):
    srv = registered_server
    acct = TagAccount(srv)
    api = acct.client(kind)
    known, unknown, known_rds = rid("i"), rid("i"), rid()
    srv.resource_register(acct.id, REGION, known, "ALIYUN::ECS::INSTANCE")
    srv.resource_register(acct.id, REGION, known_rds, RDS)

    def failed(body):
        return sorted((f["ResourceARN"], f["Result"]["Code"], f["Result"]["Message"])
                      for f in body["FailedResources"]["FailedResource"])

    body = api.tag([arn("ecs", "instance", known), arn("ecs", "instance", unknown, prefix="")], {"a": "1"})
    assert failed(body) == [(acct.arn("ecs", "instance", unknown), "InvalidResourceId.NotFound",
                             MSG_RESOURCE_NOT_FOUND)]
    assert api.all_resources() == [(acct.arn("ecs", "instance", known), custom(("a", "1")))]

    # Registration is per type: the ECS id is unknown as an RDS instance (and the other way round).
    body = api.tag([arn("rds", "instance", known), arn("rds", "instance", known_rds)], {"b": "2"})
    assert failed(body) == [(acct.arn("rds", "instance", known), "InvalidResourceId.NotFound",
                             MSG_RESOURCE_NOT_FOUND)]
    # ... per region ...
    body = api.tag([arn("ecs", "instance", known, region="*")], {"c": "3"}, region=OTHER_REGION)
    assert failed(body) == [(acct.arn("ecs", "instance", known, OTHER_REGION), "InvalidResourceId.NotFound",
                             MSG_RESOURCE_NOT_FOUND)]
    assert api.all_resources(region=OTHER_REGION) == []
    # ... and per account.
    stranger = TagAccount(srv).client(kind)
    body = stranger.tag([arn("ecs", "instance", known)], {"d": "4"})
    assert len(body["FailedResources"]["FailedResource"]) == 1
    assert body["FailedResources"]["FailedResource"][0]["Result"]["Code"] == "InvalidResourceId.NotFound"
    assert stranger.all_resources() == []

    assert api.all_resources() == [
        (acct.arn("ecs", "instance", known), custom(("a", "1"))),
        (acct.arn("rds", "instance", known_rds), custom(("b", "2"))),
    ]
    assert [k["Key"] for k in api.all_keys()] == ["a", "b"]
    # Deregistering deletes the resource's tags: gone from listings and the catalogue at once.
    srv.resource_deregister(acct.id, REGION, known_rds, RDS)
    assert api.all_resources() == [(acct.arn("ecs", "instance", known), custom(("a", "1")))]
    assert [k["Key"] for k in api.all_keys()] == ["a"]
    assert api.all_by_tag(RDS, "b") == []
    body = api.tag([arn("rds", "instance", known_rds)], {"b": "again"})
    assert failed(body) == [(acct.arn("rds", "instance", known_rds), "InvalidResourceId.NotFound",
                             MSG_RESOURCE_NOT_FOUND)]


# --- Durability --------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_tag_service_state_survives_restart(fresh_server, how):
    srv = fresh_server
    acct = TagAccount(srv)
    api = acct.client("raw-v1")
    api.tag_ok([arn("ecs", "instance", rid("i")), arn("foo", "widget", rid("w"))], {"env": "prod", "team": "a"})
    api.tag_ok([arn("rds", "instance", rid(), region="*")], {"env": "sh"}, region=OTHER_REGION)
    api.create_tags([{"Key": "owner", "Description": "who", "TagValueParamList": [{"Value": "alice"},
                                                                                 {"Value": "bob"}]},
                     {"Key": "gone"}])
    api.delete_tag("owner", "bob")
    api.delete_tag("gone")
    before = (api.snapshot(), api.snapshot(region=OTHER_REGION))
    assert [k["Key"] for k in before[0]["meta"]] == ["owner"] and before[0]["meta_values"] == {"owner": ["alice"]}
    if how == "restart":
        srv.restart()
    else:
        srv.kill9()
        srv.start()
    api = acct.client("raw-v1")
    assert (api.snapshot(), api.snapshot(region=OTHER_REGION)) == before
