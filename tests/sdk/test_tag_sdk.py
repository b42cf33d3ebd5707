"""Tag service 2018-08-28 through the real SDKs: every operation, paging, ARN forms, canonical ARNs, models.

Clients: aliyun-python-sdk-tag (legacy, V1), alibabacloud_tag20180828 (Tea, V3 and "v2" = V1) and hand-signed
requests (raw V1/V3, which see the JSON exactly as sent). Contract: docs/aliyun-tag-service.md on top of
shared/spec/aliyun.md §3 and §6 item 10. Each test works in an account of its own (fixture `tag_account`), so
unfiltered listings are exact.
"""

import json

import pytest

from harness import (MSG_QUOTA_PER_RESOURCE, REGION, TeaTag, arn, assert_raw_error, rid, uid)

ALL_KINDS = ["legacy", "tea", "tea-v2", "raw-v1", "raw-v3"]
SDK_KINDS = ["legacy", "tea"]

ECS = "ALIYUN::ECS::INSTANCE"
RDS = "ALIYUN::RDS::INSTANCE"


def custom(*pairs):
    """Tags as ListTagResources lists them: sorted (Key, Value, "Custom")."""
    return sorted((k, v, "Custom") for k, v in pairs)


def key_entry(k, description=""):
    return {"Key": k, "Category": "custom", "Description": description}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_operation(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    rds_id, ecs_id = rid("rm"), rid("i")
    a_rds = arn("rds", "instance", rds_id, account=acct.id)  # arn:acs:… with the real account id
    a_ecs = arn("ecs", "instance", ecs_id, prefix="")  # acs:ecs:*:*:instance/…
    c_rds, c_ecs = acct.arn("rds", "instance", rds_id), acct.arn("ecs", "instance", ecs_id)

    # TagResources: full success has a RequestId and no FailedResources.
    api.tag_ok([a_rds, a_ecs], {"env": "prod", "team": "core"})
    both = [(c_ecs, custom(("env", "prod"), ("team", "core"))), (c_rds, custom(("env", "prod"), ("team", "core")))]
    # ListTagResources: canonical ARNs, in order of canonical type (ECS before RDS), then id.
    assert api.all_resources(arns=[a_rds, a_ecs]) == both
    assert api.all_resources() == both
    assert api.all_resources(arns=[c_rds]) == both[1:]

    # Upsert: an existing key is overwritten, a new one added.
    api.tag_ok([a_ecs], {"env": "dev", "note": "n"})
    assert api.all_resources(arns=[c_ecs]) == [(c_ecs, custom(("env", "dev"), ("note", "n"), ("team", "core")))]
    # Tags filter: AND of exact pairs.
    assert api.all_resources(tags={"env": "prod"}) == both[1:]
    assert [a for a, _ in api.all_resources(tags={"team": "core"})] == [c_ecs, c_rds]
    assert api.all_resources(tags={"env": "dev", "team": "core"}) == \
        [(c_ecs, custom(("env", "dev"), ("note", "n"), ("team", "core")))]
    assert api.all_resources(tags={"env": "dev", "team": "other"}) == []
    assert api.all_resources(arns=[a_rds], tags={"env": "dev"}) == []
    assert api.all_resources(arns=[a_rds, a_ecs], tags={"team": "core", "env": "prod"}) == both[1:]

    # ListTagKeys / ListTagValues (ResourceTag, the default).
    assert api.all_keys() == [key_entry("env"), key_entry("note"), key_entry("team")]
    assert api.all_values("env") == ["dev", "prod"]

    # ListResourcesByTag: only the matching tag unless IncludeAllTags.
    assert api.all_by_tag(RDS, "env") == [(rds_id, [("env", "prod", "custom")])]
    assert api.all_by_tag(ECS, "env", "dev", include_all_tags=True) == \
        [(ecs_id, [("env", "dev", "custom"), ("note", "n", "custom"), ("team", "core", "custom")])]
    assert api.all_by_tag(ECS, "env", "prod") == []

    # UntagResources: absent keys are a no-op; keys nobody carries leave the catalogue.
    body = api.untag([a_rds, c_ecs], ["env", "absent"])
    assert body["RequestId"]
    assert api.all_resources() == [(c_ecs, custom(("note", "n"), ("team", "core"))), (c_rds, custom(("team", "core")))]
    assert [k["Key"] for k in api.all_keys()] == ["note", "team"]
    assert api.all_values("env") == []

    # CreateTags / DeleteTag: preset keys live under MetaTag only.
    body = api.create_tags([{"Key": "cost-center", "Description": "who pays",
                             "TagValueParamList": [{"Value": "cc-2", "Description": "two"}, {"Value": "cc-1"}]}])
    assert body["RequestId"]
    assert api.all_keys(query_type="MetaTag") == [key_entry("cost-center", "who pays")]
    assert api.all_values("cost-center", query_type="MetaTag") == ["cc-1", "cc-2"]
    assert "cost-center" not in [k["Key"] for k in api.all_keys()]
    assert api.delete_tag("cost-center", "cc-1")["RequestId"]
    assert api.all_values("cost-center", query_type="MetaTag") == ["cc-2"]
    assert api.delete_tag("cost-center", "cc-2")["RequestId"]
    assert api.delete_tag("cost-center")["RequestId"]
    assert api.all_keys(query_type="MetaTag") == []

    # Untag everything: the account reads empty again.
    api.untag([c_rds, c_ecs], ["team", "note"])
    assert api.all_resources() == []
    assert api.all_keys() == []


def _seed_resources(api, acct, n_by_type):
    """Tag resources of several types; returns the expected listing in server order (type, then id)."""
    expected = []
    for product, rtype, prefix, n in n_by_type:
        for i in range(n):
            r = f"{prefix}-{uid(10)}"
            tags = {f"t{j}": f"{r}-{j}" for j in range(1 + i % 3)}  # 1..3 tags per resource
            api.tag_ok([arn(product, rtype, r)], tags)
            expected.append(((f"ALIYUN::{product.upper()}::{rtype.upper()}", r),
                             (acct.arn(product, rtype, r), custom(*tags.items()))))
    return [row for _, row in sorted(expected)]


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_list_tag_resources_paging(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    expected = _seed_resources(api, acct, [("rds", "instance", "rm", 3), ("ecs", "instance", "i", 3),
                                           ("ecs", "disk", "d", 1)])
    assert len(expected) == 7

    pages = []
    assert api.all_resources(page_size=1, pages_out=pages) == expected
    # One resource per page, never split: every page holds one resource with all its tags.
    assert [len(items) for items, _ in pages if items] == [1] * 7
    assert all(tok != "" for _, tok in pages[:-1]) and pages[-1][1] == ""

    pages = []
    assert api.all_resources(page_size=1000, pages_out=pages) == expected
    assert len(pages) == 1 and pages[0][1] == ""

    pages = []
    assert api.all_resources(page_size=3, pages_out=pages) == expected
    assert [len(items) for items, _ in pages if items] == [3, 3, 1]

    # Paging a filtered listing: only RDS ARNs, two per page.
    rds_rows = [row for row in expected if ":rds:" in row[0]]
    assert api.all_resources(arns=[a for a, _ in rds_rows], page_size=2) == rds_rows
    # ... and a Tags filter (values are unique per resource: one match).
    assert api.all_resources(tags={"t0": rds_rows[0][1][0][1]}, page_size=1) == rds_rows[:1]


def test_list_tag_resources_default_page_is_50(tag_account):
    acct = tag_account
    api = acct.client("raw-v1")
    ids = sorted(rid("rm") for _ in range(55))
    api.tag_ok([arn("rds", "instance", r) for r in ids[:50]], {"k": "v"})
    api.tag_ok([arn("rds", "instance", r) for r in ids[50:]], {"k": "v"})
    first = api.list_resources()
    assert len(first["TagResources"]) == 50 and first["NextToken"] != ""
    second = api.list_resources(token=first["NextToken"])
    assert len(second["TagResources"]) == 5 and second["NextToken"] == ""
    listed = [r["ResourceARN"] for r in first["TagResources"] + second["TagResources"]]
    assert listed == [acct.arn("rds", "instance", r) for r in ids]


def test_catalogue_default_page_is_50(tag_account):
    acct = tag_account
    api = acct.client("raw-v3")
    keys = [f"key-{i:02d}" for i in range(55)]
    for i in range(0, 55, 10):
        api.tag_ok([arn("rds", "instance", rid())], {k: "1" for k in keys[i:i + 10]})
    values = sorted(f"val-{uid(6)}" for _ in range(53))
    ids = sorted(rid("i") for _ in range(53))
    for r, v in zip(ids, values):
        api.tag_ok([arn("ecs", "instance", r)], {"multi": v})
    first = api.list_keys()
    assert [k["Key"] for k in first["Keys"]["Key"]] == keys[:50] and first["NextToken"] != ""
    second = api.list_keys(token=first["NextToken"])
    assert [k["Key"] for k in second["Keys"]["Key"]] == keys[50:] + ["multi"] and second["NextToken"] == ""
    first = api.list_values("multi")
    assert first["Values"]["Value"] == values[:50] and first["NextToken"] != ""
    second = api.list_values("multi", token=first["NextToken"])
    assert second["Values"]["Value"] == values[50:] and second["NextToken"] == ""
    first = api.by_tag(ECS, "multi")
    assert len(first["Resources"]) == 50 and first["NextToken"] != ""
    second = api.by_tag(ECS, "multi", token=first["NextToken"])
    assert len(second["Resources"]) == 3 and second["NextToken"] == ""
    assert sorted(x["ResourceId"] for x in first["Resources"] + second["Resources"]) == ids


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_keys_and_values_paging(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    keys = [f"key-{c}" for c in "abcdefg"]
    values = [f"val-{c}" for c in "abcdef"]
    r1, r2 = rid(), rid()
    api.tag_ok([arn("rds", "instance", r1)], {k: "x" for k in keys})
    for v in values:  # six resources carry "shared" with six values
        api.tag_ok([arn("ecs", "instance", rid("i"))], {"shared": v})
    api.tag_ok([arn("rds", "instance", r2)], {"shared": "val-a"})  # a value on two resources is listed once
    all_keys = sorted(keys + ["shared"])

    for size, shape in ((1, [1] * 8), (3, [3, 3, 2]), (1000, [8])):
        pages = []
        assert [k["Key"] for k in api.all_keys(page_size=size, pages_out=pages)] == all_keys
        assert [len(items) for items, _ in pages if items] == shape, (size, pages)
        assert pages[-1][1] == ""
    for size, shape in ((1, [1] * 6), (4, [4, 2]), (1000, [6])):
        pages = []
        assert api.all_values("shared", page_size=size, pages_out=pages) == values
        assert [len(items) for items, _ in pages if items] == shape, (size, pages)
        assert pages[-1][1] == ""


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_arn_forms_and_canonical_answers(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    ids = sorted(rid() for _ in range(5))
    written = [
        arn("rds", "instance", ids[0], account=acct.id),  # arn:acs:rds:cn-hangzhou:<id>:instance/…
        arn("rds", "instance", ids[1], account=acct.id, prefix=""),  # acs:rds:cn-hangzhou:<id>:…
        arn("rds", "instance", ids[2], region="*", account="*"),  # arn:acs:rds:*:*:…
        arn("rds", "instance", ids[3], region="*", account=acct.id, prefix=""),  # acs:rds:*:<id>:…
        arn("RDS", "INSTANCE", ids[4], region=REGION, account="*"),  # product and type in any case
    ]
    api.tag_ok(written, {"form": "any"})
    canonical = [acct.arn("rds", "instance", r) for r in ids]
    assert [a for a, _ in api.all_resources()] == canonical
    # Read back through another form than the one written: the same resource.
    other_forms = [arn("rds", "instance", r, region="*", prefix="") for r in ids]
    assert [a for a, _ in api.all_resources(arns=other_forms)] == canonical
    assert [a for a, _ in api.all_resources(arns=[arn("Rds", "Instance", ids[0])])] == canonical[:1]
    # Writing through a different form updates the same resource.
    api.tag_ok([canonical[2]], {"second": "form"})
    api.tag_ok([arn("rds", "instance", ids[2], region="*", prefix="")], {"third": "form"})
    assert api.all_resources(arns=[written[2]]) == \
        [(canonical[2], custom(("form", "any"), ("second", "form"), ("third", "form")))]
    api.untag([arn("rds", "instance", ids[2], account=acct.id, prefix="")], ["second", "third"])
    assert api.tags_of(canonical[2]) == {"form": "any"}


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_unicode_and_limits_at_the_boundary(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    r = rid()
    a = arn("rds", "instance", r)
    # 1 to 128 characters are allowed (counted as characters, not bytes); ten pairs per call are allowed.
    k128, v128 = "键" * 128, "值" * 128
    tags = {k128: v128, "team a*": "数据~/+=", "k": "v"}
    tags.update({f"p{i}": f"{i}" for i in range(7)})
    assert len(tags) == 10
    api.tag_ok([a], tags)
    assert api.tags_of(a) == tags
    assert k128 in [k["Key"] for k in api.all_keys()]
    assert api.all_values(k128) == [v128]
    assert api.all_resources(tags={"team a*": "数据~/+="}) == [(acct.arn("rds", "instance", r), custom(*tags.items()))]
    # 50 ARNs per call and 20 TagKey.N per UntagResources are allowed.
    many = [arn("ecs", "instance", rid("i")) for _ in range(50)]
    api.tag_ok(many, {"bulk": "1"})
    assert len(api.all_resources(tags={"bulk": "1"}, page_size=1000)) == 50
    api.untag(many, ["bulk"] + [f"absent-{i}" for i in range(19)])
    assert api.all_resources(tags={"bulk": "1"}) == []
    assert api.all_resources(arns=many) == []


@pytest.mark.parametrize("kind", SDK_KINDS + ["raw-v1"])
def test_long_listings_arrive_whole_and_in_order(tag_account, kind):
    """A listing long enough that tagd reads and renders it in two halves at once (300 resources, one
    1,000-resource page; key-only and (key, value) filters, JSON and XML) arrives whole, in ARN order,
    each resource with its own tags."""
    acct = tag_account
    api = acct.client(kind)
    expected = []
    for batch in range(6):
        ids = [rid() for _ in range(50)]
        api.tag_ok([arn("rds", "instance", r) for r in ids], {"long": "1", "batch": f"b{batch}"})
        expected += [(acct.arn("rds", "instance", r), custom(("long", "1"), ("batch", f"b{batch}"))) for r in ids]
    expected.sort()
    pages = []
    assert api.all_resources(tags={"long": "1"}, page_size=1000, pages_out=pages) == expected
    assert len(pages) == 1 and pages[0][1] == ""
    assert api.all_resources(tags={"batch": "b3"}, page_size=1000) == [e for e in expected if ("batch", "b3", "Custom") in e[1]]
    pages = []
    assert api.all_resources(tags={"long": "1"}, page_size=130, pages_out=pages) == expected
    assert [len(items) for items, _ in pages if items] == [130, 130, 40]
    if kind == "raw-v1":
        resp = api.raw.v1("ListTagResources", [("RegionId", REGION), ("Tags", json.dumps({"long": "1"})),
                                               ("PageSize", "1000")], version="2018-08-28", fmt="XML")
        assert resp.status == 200, resp
        items = resp.xml().findall("TagResources")
        assert [x.findtext("ResourceARN") for x in items] == [a for a, _ in expected], resp
        assert all(sorted(t.findtext("Key") for t in x.findall("Tags")) == ["batch", "long"] for x in items), resp


def test_tea_models(tag_account):
    """The Tea models parse tagd's shapes (spec §6 item 13): attributes, not just dicts."""
    acct = tag_account
    tea = acct.client("tea")
    assert isinstance(tea, TeaTag)
    r, full = rid(), rid()
    a = arn("rds", "instance", r)
    tea.tag([a], {"env": "prod"})
    assert tea.last.body.failed_resources is None
    assert tea.last.body.request_id

    tea.list_resources(arns=[a])
    res = tea.last.body.tag_resources
    assert [x.resource_arn for x in res] == [acct.arn("rds", "instance", r)]
    assert [(t.key, t.value, t.category) for t in res[0].tags] == [("env", "prod", "Custom")]
    assert tea.last.body.next_token == ""

    tea.list_keys()
    assert [(k.key, k.category, k.description) for k in tea.last.body.keys.key] == [("env", "custom", "")]
    tea.list_values("env")
    assert tea.last.body.values.value == ["prod"]
    tea.by_tag(RDS, "env", include_all_tags=True)
    assert [x.resource_id for x in tea.last.body.resources] == [r]
    assert [(t.key, t.value, t.category) for t in tea.last.body.resources[0].tags] == [("env", "prod", "custom")]

    # FailedResources parses into its model.
    fa = arn("rds", "instance", full)
    tea.tag([fa], {f"k{i}": "v" for i in range(10)})
    tea.tag([fa], {f"k{i}": "v" for i in range(10, 20)})
    body = tea.tag([fa, a], {"one-more": "x"})
    failed = tea.last.body.failed_resources.failed_resource
    assert [(f.resource_arn, f.result.code, f.result.message) for f in failed] == \
        [(acct.arn("rds", "instance", full), "QuotaExceed.TagsPerResource", MSG_QUOTA_PER_RESOURCE)]
    assert body["FailedResources"]["FailedResource"][0]["ResourceARN"] == acct.arn("rds", "instance", full)
    assert tea.tags_of(a) == {"env": "prod", "one-more": "x"}


def test_raw_shapes(tag_account):
    """The JSON exactly as the contract draws it (docs/aliyun-tag-service.md, "Operations")."""
    acct = tag_account
    raw = acct.client("raw-v1")
    r = rid()
    a = arn("rds", "instance", r)
    body = raw.tag([a], {"env": "prod"})
    assert set(body) == {"RequestId"}, body
    body = raw.list_resources(arns=[a])
    assert set(body) == {"RequestId", "NextToken", "TagResources"}, body
    assert body["NextToken"] == ""
    assert body["TagResources"] == [{"ResourceARN": acct.arn("rds", "instance", r),
                                     "Tags": [{"Key": "env", "Value": "prod", "Category": "Custom"}]}]
    body = raw.list_keys()
    assert set(body) == {"RequestId", "NextToken", "Keys"} and body["NextToken"] == ""
    assert body["Keys"] == {"Key": [{"Key": "env", "Category": "custom", "Description": ""}]}
    body = raw.list_values("env")
    assert set(body) == {"RequestId", "NextToken", "Values"} and body["NextToken"] == ""
    assert body["Values"] == {"Value": ["prod"]}
    body = raw.by_tag(RDS, "env")
    assert set(body) == {"RequestId", "NextToken", "Resources"} and body["NextToken"] == ""
    assert body["Resources"] == [{"ResourceId": r, "Tags": [{"Key": "env", "Value": "prod", "Category": "custom"}]}]
    assert set(raw.create_tags([{"Key": "p"}])) == {"RequestId"}
    assert set(raw.delete_tag("p")) == {"RequestId"}
    assert set(raw.untag([a], ["env"])) == {"RequestId"}
    # Empty listings keep their wrappers.
    assert raw.list_resources() == {"RequestId": raw.last.json()["RequestId"], "NextToken": "", "TagResources": []}
    body = raw.list_keys()
    assert body["Keys"] == {"Key": []} and body["NextToken"] == ""
    body = raw.list_values("env")
    assert body["Values"] == {"Value": []} and body["NextToken"] == ""
    body = raw.by_tag(RDS, "env")
    assert body["Resources"] == [] and body["NextToken"] == ""


def test_get_and_form_body_reach_the_tag_service(tag_account):
    """GET and a form body work for the Tag service as for RDS (spec §1.1): same answers."""
    acct = tag_account
    raw = acct.client("raw-v1")
    r = rid()
    a = arn("rds", "instance", r)
    params = [("RegionId", REGION), ("ResourceARN.1", a), ("Tags", json.dumps({"via": "get"}))]
    resp = raw.raw.v1("TagResources", params, method="GET", version="2018-08-28")
    assert resp.status == 200, resp
    resp = raw.raw.v1("TagResources", [("RegionId", REGION)], version="2018-08-28",
                      body=[("ResourceARN.1", a), ("Tags", json.dumps({"via2": "form body"}))])
    assert resp.status == 200, resp
    assert raw.tags_of(a) == {"via": "get", "via2": "form body"}


def test_legacy_common_request(tag_account):
    """The legacy core SDK's CommonRequest (product "Tag"), parameters in the query or in a signed form body,
    POST or GET: the same operations and answers as the generated request classes (spec §5.1)."""
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.request import CommonRequest

    acct = tag_account
    client = AcsClient(acct.ak, acct.secret, REGION, auto_retry=False)

    def call(action, query=(), body=(), method="POST"):
        req = CommonRequest(domain=acct.server.endpoint, version="2018-08-28", action_name=action, product="Tag")
        req.set_protocol_type("http")
        req.set_method(method)
        for k, v in query:
            req.add_query_param(k, v)
        for k, v in body:
            req.add_body_params(k, v)
        return json.loads(client.do_action_with_exception(req))

    r = rid()
    a, c = arn("rds", "instance", r), acct.arn("rds", "instance", r)
    tags = {"env": "prod", "数据": "值 +/=&"}
    assert set(call("TagResources", body=[("ResourceARN.1", a), ("Tags", json.dumps(tags))])) == {"RequestId"}
    for method in ("POST", "GET"):
        body = call("ListTagResources", query=[("ResourceARN.1", a)], method=method)
        assert body["NextToken"] == "" and [x["ResourceARN"] for x in body["TagResources"]] == [c], body
        assert {t["Key"]: t["Value"] for t in body["TagResources"][0]["Tags"]} == tags, body
    call("CreateTags", body=[("TagKeyValueParamList.1.Key", "cr"), ("TagKeyValueParamList.1.Description", "d d"),
                             ("TagKeyValueParamList.1.TagValueParamList.1.Value", "v v")])
    assert call("ListTagKeys", query=[("QueryType", "MetaTag")])["Keys"] == \
        {"Key": [{"Key": "cr", "Category": "custom", "Description": "d d"}]}
    assert call("ListTagValues", query=[("Key", "cr"), ("QueryType", "MetaTag")])["Values"] == {"Value": ["v v"]}
    call("UntagResources", body=[("ResourceARN.1", a), ("TagKey.1", "数据")])
    assert call("ListResourcesByTag", query=[("ResourceType", RDS), ("TagFilter.Key", "env"),
                                             ("IncludeAllTags", "True")])["Resources"] == \
        [{"ResourceId": r, "Tags": [{"Key": "env", "Value": "prod", "Category": "custom"}]}]
    with pytest.raises(ServerException) as e:
        call("ListTagKeys", query=[("Category", "bogus")])
    assert (e.value.get_http_status(), e.value.get_error_code(), e.value.get_error_msg()) == \
        (403, "InvalidParameter.Category", "The Category parameter is invalid.")


def test_xml_and_routing(tag_account):
    """V1 without Format or with Format=XML answers XML (spec §6 item 5); unknown Tag actions are 404;
    action names match case-insensitively (§6 item 1)."""
    acct = tag_account
    raw = acct.client("raw-v1")
    r = rid()
    raw.tag_ok([arn("rds", "instance", r)], {"env": "prod"})
    for fmt in ("XML", None):
        resp = raw.raw.v1("ListTagKeys", [("RegionId", REGION)], version="2018-08-28", fmt=fmt)
        assert resp.status == 200, resp
        assert resp.content_type.replace(" ", "").lower() == "text/xml;charset=utf-8", resp
        root = resp.xml()
        assert root.tag == "ListTagKeysResponse" and root.findtext("RequestId"), resp
        assert [k.findtext("Key") for k in root.iter("Key") if k.find("Key") is not None] == ["env"], resp
    resp = raw.raw.v1("ListTagKeys", [], version="2018-08-28", fmt="XML")
    assert resp.status == 400 and resp.content_type.replace(" ", "").lower() == "text/xml;charset=utf-8", resp
    err = resp.xml()
    assert err.tag == "Error" and err.findtext("Code") == "MissingParameter.RegionId", resp
    assert err.findtext("HostId") == "tag.aliyuncs.com", resp

    resp = raw.raw.v1("listtagresources", [("RegionId", REGION)], version="2018-08-28")
    assert resp.status == 200, resp
    assert [x["ResourceARN"] for x in resp.json()["TagResources"]] == [acct.arn("rds", "instance", r)]
    for action in ("ListPolicies", "DescribeDBInstances", "AddTagsToResource"):
        resp = raw.raw.v1(action, [("RegionId", REGION)], version="2018-08-28")
        body = assert_raw_error(resp, 404, "InvalidAction.NotFound")
        assert body["HostId"] == "tag.aliyuncs.com", body
    # The Tag actions are not RDS actions: ListTagKeys under 2014-08-15 does not exist.
    assert_raw_error(raw.raw.v1("ListTagKeys", [("RegionId", REGION)], version="2014-08-15"), 404,
                     "InvalidAction.NotFound")
