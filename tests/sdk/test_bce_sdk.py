"""bce-python-sdk 0.9.79 (the generic client of spec §8.1) through every operation of the Baidu Tag API, asserting
on what the SDK surfaces: snake_cased response attributes, `BceResponse.metadata`, and the state each write leaves.

Contract: shared/spec/bce.md §2, §5, §8.1; docs/baidu.md ("The model", "Operations").
"""

import json

import pytest

from harness import UUID4, uid


def tags_of(r) -> list:
    """[(tag_key, tag_value)] of a list response, in server order (snake_cased by the SDK)."""
    assert isinstance(r.tags, list), f"tags must be a list, got {r.tags!r}"
    return [(t.tag_key, t.tag_value) for t in r.tags]


def resources_of(r) -> list:
    assert isinstance(r.tag_resources, list), r.tag_resources
    return [((e.tag_key, e.tag_value), sorted((x.resource_type, x.region, x.resource_id) for x in e.resources))
            for e in r.tag_resources]


def rows_of(r) -> list:
    assert isinstance(r.tag_association_fulls, list), r.tag_association_fulls
    return sorted((x.tag_key, x.tag_value, x.service_type, x.region, x.resource_id) for x in r.tag_association_fulls)


TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"


def assert_write(r, content_type=JSON):
    """What the SDK answers for a write: a BceResponse with metadata only (no body). Its Content-Type is the
    real service's (§1.5): plain text for the catalogue's create and delete (the seed's), JSON for the resource
    operations (bind's); the SDK keeps it in the metadata, where a missing one raises AttributeError."""
    assert getattr(r, "raw_data", None) is None, r.raw_data
    assert UUID4.match(r.metadata.bce_request_id), vars(r.metadata)
    assert r.metadata.content_length == "0", vars(r.metadata)
    assert r.metadata.content_type == content_type, vars(r.metadata)
    assert r.metadata.date, vars(r.metadata)


def assert_read(r, key):
    assert r.status_code == 200
    assert UUID4.match(r.metadata.bce_request_id), vars(r.metadata)
    assert r.metadata.content_type == "application/json; charset=utf-8", vars(r.metadata)
    assert list(json.loads(r.raw_data)) == [key], r.raw_data


@pytest.fixture
def acct(bce_account):
    return bce_account


@pytest.fixture
def sdk(acct):
    return acct.sdk()


# --- create / list -----------------------------------------------------------------------------------------

def test_create_and_list(acct, sdk):
    assert_write(sdk.create_tags([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "team", "tagValue": ""}]), TEXT)
    r = sdk.list_tags()
    assert_read(r, "tags")
    assert tags_of(r) == [("env", "prod"), ("team", "")]
    assert r.tags[0].tag_key == "env" and r.tags[0].tag_value == "prod"
    # create skips existing tags (seed)
    assert_write(sdk.create_tags([{"tagKey": "env", "tagValue": "prod"}]), TEXT)
    assert tags_of(sdk.list_tags()) == [("env", "prod"), ("team", "")]


def test_list_order_and_filters(acct, sdk):
    tags = [("b", "1"), ("项目", "x"), ("a-b", ""), ("B", "1"), ("a b", "2"), ("a", "prod"), ("env", "staging"),
            ("env", "prod"), ("env", ""), ("env", "Prod"), ("Env", "prod")]
    sdk.create_tags([{"tagKey": k, "tagValue": v} for k, v in tags])
    # sorted by key, then value, in byte order (docs/baidu.md)
    want = sorted(tags, key=lambda kv: (kv[0].encode(), kv[1].encode()))
    assert tags_of(sdk.list_tags()) == want
    assert tags_of(sdk.list_tags(key="")) == want  # an empty tagKey means all keys
    # tagKey exact (case-sensitive), tagValue absent = all values
    assert tags_of(sdk.list_tags("env")) == [("env", ""), ("env", "Prod"), ("env", "prod"), ("env", "staging")]
    assert tags_of(sdk.list_tags("Env")) == [("Env", "prod")]
    # tagValue present but empty: only the empty value
    assert tags_of(sdk.list_tags("env", "")) == [("env", "")]
    assert tags_of(sdk.list_tags(value="")) == [("a-b", ""), ("env", "")]
    assert tags_of(sdk.list_tags("", "")) == [("a-b", ""), ("env", "")]
    # tagValue alone filters by value over all keys
    assert tags_of(sdk.list_tags(value="prod")) == [("Env", "prod"), ("a", "prod"), ("env", "prod")]
    assert tags_of(sdk.list_tags(value="1")) == [("B", "1"), ("b", "1")]
    assert tags_of(sdk.list_tags("env", "prod")) == [("env", "prod")]
    assert tags_of(sdk.list_tags("项目")) == [("项目", "x")]
    assert tags_of(sdk.list_tags("a b")) == [("a b", "2")]
    # nothing matches: the list key is still there
    r = sdk.list_tags("nothing")
    assert r.tags == [] and json.loads(r.raw_data) == {"tags": []}
    assert tags_of(sdk.list_tags("team", "")) == []


def test_non_ascii_key_through_the_sdk(acct, sdk):
    key = "项目/a-b.c_d"
    sdk.create_tags([{"tagKey": key, "tagValue": "值 1"}])
    assert tags_of(sdk.list_tags(key)) == [(key, "值 1")]
    assert tags_of(sdk.list_tags(key, "值 1")) == [(key, "值 1")]
    sdk.bind(key, "值 1", "BCC", [("i-cn", "bj")])
    assert resources_of(sdk.tag_resources(key)) == [((key, "值 1"), [("BCC", "bj", "i-cn")])]


# --- bind / unbind -----------------------------------------------------------------------------------------

def test_bind_and_tag_resources(acct, sdk):
    r1, r2, r3 = (f"i-{uid()}" for _ in range(3))
    sdk.create_tags([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "idle", "tagValue": ""}])
    assert_write(sdk.bind("env", "prod", "BCC", [(r1, "bj"), (r2, "gz")]))
    sdk.bind("env", "prod", "CDS", [(r3, "bj")])
    r = sdk.tag_resources()
    assert_read(r, "tagResources")
    # a tag without resources is left out; the type field is resource_type (resourceType on the wire)
    assert resources_of(r) == [(("env", "prod"), [("BCC", "bj", r1), ("BCC", "gz", r2), ("CDS", "bj", r3)])]
    assert r.tag_resources[0].resources[0].resource_type in ("BCC", "CDS")
    wire = json.loads(r.raw_data)["tagResources"][0]["resources"][0]
    assert set(wire) == {"resourceType", "resourceId", "region"}
    # region / resourceType filter the resources of each entry
    assert resources_of(sdk.tag_resources(region="bj")) == [(("env", "prod"), [("BCC", "bj", r1), ("CDS", "bj", r3)])]
    assert resources_of(sdk.tag_resources(resource_type="CDS")) == [(("env", "prod"), [("CDS", "bj", r3)])]
    assert resources_of(sdk.tag_resources(region="gz", resource_type="BCC")) == [(("env", "prod"), [("BCC", "gz", r2)])]
    # a tag whose every resource is filtered out is left out
    assert resources_of(sdk.tag_resources(region="su")) == []
    assert json.loads(sdk.tag_resources(region="su").raw_data) == {"tagResources": []}
    assert resources_of(sdk.tag_resources(region="")) == resources_of(r)  # empty = all
    # tag filters as for the list
    assert resources_of(sdk.tag_resources("env", "prod", "gz")) == [(("env", "prod"), [("BCC", "gz", r2)])]
    assert resources_of(sdk.tag_resources("env", "")) == []
    assert resources_of(sdk.tag_resources("idle")) == []
    assert resources_of(sdk.tag_resources(value="prod")) == resources_of(r)


def test_bind_creates_the_tag_and_normalises(acct, sdk):
    """docs/baidu.md: bind creates a missing tag; serviceType answered upper-case; an item's serviceType wins."""
    r1, r2 = f"i-{uid()}", f"i-{uid()}"
    sdk.bind("new", "v", "bcc", [(r1, "bj"), (r2, "bj", "eip")])
    assert tags_of(sdk.list_tags()) == [("new", "v")]
    assert rows_of(sdk.query_full_list(True)) == [("new", "v", "BCC", "bj", r1), ("new", "v", "EIP", "bj", r2)]
    assert resources_of(sdk.tag_resources()) == [(("new", "v"), [("BCC", "bj", r1), ("EIP", "bj", r2)])]
    # binding again is a no-op (also with the type in another case)
    before = acct.snapshot()
    sdk.bind("new", "v", "BCC", [(r1, "bj")])
    sdk.bind("new", "v", "Bcc", [(r1, "bj")])
    assert acct.snapshot() == before


def test_resource_identity(acct, sdk):
    """A resource is (serviceType, region, resourceId): the same id in another region or type is another one."""
    i = f"i-{uid()}"
    sdk.bind("env", "a", "BCC", [(i, "bj")])
    sdk.bind("env", "b", "BCC", [(i, "gz")])
    sdk.bind("env", "c", "EIP", [(i, "bj")])
    assert rows_of(sdk.query_full_list(True)) == [("env", "a", "BCC", "bj", i), ("env", "b", "BCC", "gz", i),
                                                   ("env", "c", "EIP", "bj", i)]


def test_one_value_per_key(acct, sdk):
    """docs/baidu.md: binding env=staging to a resource carrying env=prod replaces it; both stay in the catalogue."""
    i, j = f"i-{uid()}", f"i-{uid()}"
    sdk.bind("env", "prod", "BCC", [(i, "bj"), (j, "bj")])
    sdk.bind("env", "staging", "BCC", [(i, "bj")])
    assert rows_of(sdk.query_full_list(True)) == [("env", "prod", "BCC", "bj", j), ("env", "staging", "BCC", "bj", i)]
    assert tags_of(sdk.list_tags()) == [("env", "prod"), ("env", "staging")]


def test_unbind(acct, sdk):
    i, j, k = (f"i-{uid()}" for _ in range(3))
    sdk.bind("env", "prod", "BCC", [(i, "bj"), (j, "bj")])
    sdk.bind("env", "dev", "BCC", [(k, "bj")])
    sdk.bind("team", "core", "BCC", [(i, "bj")])
    assert_write(sdk.unbind("env", "prod", "BCC", [(i, "bj"), (k, "bj")]))  # k carries env=dev: left alone
    assert rows_of(sdk.query_full_list(True)) == [("env", "dev", "BCC", "bj", k), ("env", "prod", "BCC", "bj", j),
                                                   ("team", "core", "BCC", "bj", i)]
    # unbinding what is not bound is skipped; unbinding never deletes the catalogue tag
    sdk.unbind("env", "prod", "BCC", [(i, "bj"), (f"i-{uid()}", "gz")])
    sdk.unbind("never", "bound", "BCC", [(i, "bj")])
    sdk.unbind("team", "core", "BCC", [(i, "bj")])
    assert tags_of(sdk.list_tags()) == [("env", "dev"), ("env", "prod"), ("team", "core")]
    assert rows_of(sdk.query_full_list(True)) == [("env", "dev", "BCC", "bj", k), ("env", "prod", "BCC", "bj", j)]


def test_service_type_matches_in_any_case(acct, sdk):
    """serviceType is upper-cased (docs/baidu.md), so unbind and deleteTagAssociation find it in any case."""
    i = f"i-{uid()}"
    sdk.bind("env", "prod", "BCC", [(i, "bj")])
    sdk.bind("team", "core", "BCC", [(i, "bj")])
    sdk.unbind("env", "prod", "bcc", [(i, "bj")])
    assert rows_of(sdk.query_full_list(True)) == [("team", "core", "BCC", "bj", i)]
    sdk.delete_tag_association(i, "Bcc", "bj")
    assert rows_of(sdk.query_full_list(True)) == []


# --- deleteTagAssociation / createAndAssign -----------------------------------------------------------------

def test_delete_tag_association(acct, sdk):
    i, j = f"i-{uid()}", f"i-{uid()}"
    sdk.bind("env", "prod", "BCC", [(i, "bj"), (j, "bj")])
    sdk.bind("team", "core", "BCC", [(i, "bj"), (i, "gz")])
    assert_write(sdk.delete_tag_association(i, "BCC", "bj"))
    assert rows_of(sdk.query_full_list(True)) == [("env", "prod", "BCC", "bj", j), ("team", "core", "BCC", "gz", i)]
    assert tags_of(sdk.list_tags()) == [("env", "prod"), ("team", "core")]  # the tags stay
    # a resource without bindings: 200, nothing changes
    before = acct.snapshot()
    assert_write(sdk.delete_tag_association(f"i-{uid()}", "BCC", "bj"))
    assert_write(sdk.delete_tag_association(j, "EIP", "bj"))
    assert acct.snapshot() == before


def test_create_and_assign(acct, sdk):
    i, j = f"i-{uid()}", f"i-{uid()}"
    sdk.create_tags([{"tagKey": "spare", "tagValue": ""}])
    sdk.bind("a", "1", "BCC", [(i, "bj")])
    sdk.bind("b", "2", "BCC", [(i, "bj")])
    sdk.bind("c", "3", "BCC", [(i, "bj")])
    # had a, b, c; drop c, add d and e: send the complete set (spec §2.8, "full update")
    assert_write(sdk.create_and_assign([
        {"resourceId": i, "resourceUuid": "uuid-1", "serviceType": "BCC", "region": "bj", "associationType": "floating",
         "tags": [{"tagKey": "a", "tagValue": "1"}, {"tagKey": "b", "tagValue": "2"}, {"tagKey": "d", "tagValue": "4"},
                  {"tagKey": "e", "tagValue": ""}]},
        {"resourceId": j, "serviceType": "eip", "region": "gz", "tags": [{"tagKey": "d", "tagValue": "4"}]},
    ]))
    r = sdk.query_full_list(True)
    assert rows_of(r) == [("a", "1", "BCC", "bj", i), ("b", "2", "BCC", "bj", i), ("d", "4", "BCC", "bj", i),
                          ("d", "4", "EIP", "gz", j), ("e", "", "BCC", "bj", i)]
    # resourceUuid is kept with the resource (spec §2.8: "" when none was given); associationType answers 0
    assert {(x.resource_id, x.resource_uuid) for x in r.tag_association_fulls} == {(i, "uuid-1"), (j, "")}
    assert {x.association_type for x in r.tag_association_fulls} == {0}
    # binding more tags keeps it; a later createAndAssign replaces it, and "" clears it
    sdk.bind("f", "5", "BCC", [(i, "bj")])
    assert {x.resource_uuid for x in sdk.query_full_list(True, resourceIds=[i]).tag_association_fulls} == {"uuid-1"}
    sdk.create_and_assign([{"resourceId": j, "resourceUuid": "uuid-2", "serviceType": "EIP", "region": "gz",
                            "tags": [{"tagKey": "d", "tagValue": "4"}]}])
    assert [x.resource_uuid for x in sdk.query_full_list(True, resourceIds=[j]).tag_association_fulls] == ["uuid-2"]
    sdk.create_and_assign([{"resourceId": i, "resourceUuid": "", "serviceType": "BCC", "region": "bj",
                            "tags": [{"tagKey": "a", "tagValue": "1"}, {"tagKey": "b", "tagValue": "2"},
                                     {"tagKey": "d", "tagValue": "4"}, {"tagKey": "e", "tagValue": ""}]}])
    assert {x.resource_uuid for x in sdk.query_full_list(True, resourceIds=[i]).tag_association_fulls} == {""}
    # missing tags were created; c lost its last binding and stays
    assert tags_of(sdk.list_tags()) == [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", ""), ("f", "5"),
                                        ("spare", "")]
    # tags: [] replaces the set with the empty set
    sdk.create_and_assign([{"resourceId": i, "serviceType": "BCC", "region": "bj", "tags": []}])
    assert rows_of(sdk.query_full_list(True)) == [("d", "4", "EIP", "gz", j)]
    assert len(sdk.list_tags().tags) == 7


def test_create_and_assign_one_value_per_key(acct, sdk):
    i = f"i-{uid()}"
    sdk.create_and_assign([{"resourceId": i, "serviceType": "BCC", "region": "bj",
                            "tags": [{"tagKey": "env", "tagValue": "prod"}]}])
    sdk.create_and_assign([{"resourceId": i, "serviceType": "BCC", "region": "bj",
                            "tags": [{"tagKey": "env", "tagValue": "dev"}]}])
    assert rows_of(sdk.query_full_list(True)) == [("env", "dev", "BCC", "bj", i)]
    assert tags_of(sdk.list_tags()) == [("env", "dev"), ("env", "prod")]
    # the same tag twice in one set is one tag (spec §2: duplicates inside one request count once)
    sdk.create_and_assign([{"resourceId": i, "serviceType": "BCC", "region": "bj",
                            "tags": [{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "team", "tagValue": ""},
                                     {"tagKey": "env", "tagValue": "prod"}]}])
    assert rows_of(sdk.query_full_list(True)) == [("env", "prod", "BCC", "bj", i), ("team", "", "BCC", "bj", i)]


# --- queryFullList ------------------------------------------------------------------------------------------

@pytest.fixture
def populated(acct, sdk):
    i, j = f"i-{uid()}", f"i-{uid()}"
    sdk.create_tags([{"tagKey": "idle", "tagValue": ""}, {"tagKey": "env", "tagValue": "dev"}])
    sdk.bind("env", "prod", "BCC", [(i, "bj"), (j, "gz")])
    sdk.bind("team", "core", "EIP", [(j, "gz")])
    return i, j


@pytest.mark.parametrize("old", [False, True], ids=["v2-path", "old-path"])
def test_query_full_list(acct, sdk, populated, old):
    i, j = populated
    binding_rows = [("env", "prod", "BCC", "bj", i), ("env", "prod", "BCC", "gz", j), ("team", "core", "EIP", "gz", j)]
    unbound_rows = [("env", "dev", "", "", ""), ("idle", "", "", "", "")]
    strong = sdk.query_full_list(True, old=old)
    assert_read(strong, "tagAssociationFulls")
    assert rows_of(strong) == binding_rows
    row = strong.tag_association_fulls[0]
    assert type(row.tag_id) is int and type(row.association_type) is int, vars(row)
    assert row.account_id == acct.id
    weak = sdk.query_full_list(False, old=old)
    assert rows_of(weak) == sorted(binding_rows + unbound_rows)
    assert rows_of(sdk.query_full_list(None, old=old)) == rows_of(weak)  # absent = false
    # tagId: a number per catalogue tag, the same in every row, unique across tags, the same on both paths
    ids = {}
    for x in weak.tag_association_fulls:
        assert ids.setdefault((x.tag_key, x.tag_value), x.tag_id) == x.tag_id
    assert len(set(ids.values())) == len(ids) == 4
    other = sdk.query_full_list(False, old=not old)
    assert {(x.tag_key, x.tag_value): x.tag_id for x in other.tag_association_fulls} == ids
    # filters: tagKey / tagValue exact ("" = any); regions, serviceTypes, resourceIds lists
    assert rows_of(sdk.query_full_list(True, old=old, tagKey="env")) == binding_rows[:2]
    assert rows_of(sdk.query_full_list(False, old=old, tagKey="env")) == [("env", "dev", "", "", "")] + binding_rows[:2]
    assert rows_of(sdk.query_full_list(False, old=old, tagKey="env", tagValue="dev")) == [("env", "dev", "", "", "")]
    assert rows_of(sdk.query_full_list(True, old=old, tagKey="env", tagValue="")) == binding_rows[:2]
    assert rows_of(sdk.query_full_list(True, old=old, regions=["gz"])) == binding_rows[1:]
    assert rows_of(sdk.query_full_list(True, old=old, serviceTypes=["EIP"])) == binding_rows[2:]
    assert rows_of(sdk.query_full_list(True, old=old, resourceIds=[i])) == binding_rows[:1]
    assert rows_of(sdk.query_full_list(True, old=old, resourceIds=[i, j], regions=["bj", "gz"],
                                       serviceTypes=["BCC"])) == binding_rows[:2]
    assert rows_of(sdk.query_full_list(True, old=old, regions=[])) == binding_rows  # empty list = any
    # with a resource-side filter, strongAssociation=false adds no unbound rows
    assert rows_of(sdk.query_full_list(False, old=old, regions=["bj"])) == binding_rows[:1]
    assert rows_of(sdk.query_full_list(False, old=old, resourceIds=[j])) == binding_rows[1:]
    assert rows_of(sdk.query_full_list(False, old=old, serviceTypes=["CDS"])) == []
    assert json.loads(sdk.query_full_list(True, old=old, tagKey="none").raw_data) == {"tagAssociationFulls": []}


@pytest.mark.parametrize("old", [False, True], ids=["v2-path", "old-path"])
def test_query_full_list_repeated_filter_entries_match_once(acct, sdk, populated, old):
    """Spec §2.9: one row per matching binding; a list filter matches when the binding's field is in the list,
    so naming a region (or type, or id) twice must not repeat its rows."""
    i, j = populated
    for strong in (True, False):
        rows = rows_of(sdk.query_full_list(strong, old=old, regions=["bj", "bj"]))
        assert rows == [("env", "prod", "BCC", "bj", i)], rows
        rows = rows_of(sdk.query_full_list(strong, old=old, regions=["gz", "bj", "gz"], serviceTypes=["EIP", "eip"],
                                           resourceIds=[j, j]))
        assert rows == [("team", "core", "EIP", "gz", j)], rows


@pytest.mark.parametrize("value,strong", [("TRUE", True), ("True", True), ("FALSE", False), ("false", False)])
def test_strong_association_is_case_insensitive(acct, sdk, populated, value, strong):
    from baidubce.http import http_methods

    r = sdk.send(http_methods.POST, b"/v1/tag/queryFullList", {b"strongAssociation": value.encode()}, {})
    assert rows_of(r) == rows_of(sdk.query_full_list(strong))


# --- delete -------------------------------------------------------------------------------------------------

def test_delete_unbinds_everywhere(acct, sdk):
    i, j = f"i-{uid()}", f"i-{uid()}"
    sdk.bind("env", "prod", "BCC", [(i, "bj"), (j, "gz")])
    sdk.bind("env", "prod", "EIP", [(i, "su")])
    sdk.bind("team", "core", "BCC", [(i, "bj")])
    assert_write(sdk.delete_tags([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "absent", "tagValue": "x"}]), TEXT)
    assert tags_of(sdk.list_tags()) == [("team", "core")]
    assert rows_of(sdk.query_full_list(False)) == [("team", "core", "BCC", "bj", i)]
    assert resources_of(sdk.tag_resources()) == [(("team", "core"), [("BCC", "bj", i)])]
    # delete is exact on the value: env="" is another tag; a missing tagValue means ""
    sdk.create_tags([{"tagKey": "k", "tagValue": ""}, {"tagKey": "k", "tagValue": "v"}])
    sdk.delete_tags([{"tagKey": "k"}])
    assert tags_of(sdk.list_tags("k")) == [("k", "v")]
    # deleting absent tags only: a no-op
    before = acct.snapshot()
    assert_write(sdk.delete_tags([{"tagKey": "absent", "tagValue": ""}]), TEXT)
    assert acct.snapshot() == before


def test_tag_ids_are_stable_and_never_reused(acct, sdk):
    sdk.create_tags([{"tagKey": "a", "tagValue": ""}, {"tagKey": "b", "tagValue": ""}])
    ids = acct.raw().tag_ids()
    sdk.bind("a", "", "BCC", [("i-1", "bj")])
    assert acct.raw().tag_ids() == ids  # binding does not change a tag's id
    sdk.delete_tags([{"tagKey": "a", "tagValue": ""}])
    sdk.create_tags([{"tagKey": "a", "tagValue": ""}])
    again = acct.raw().tag_ids()
    assert again[("b", "")] == ids[("b", "")]
    assert again[("a", "")] not in ids.values(), (ids, again)
