"""RDS 2014-08-15 tag APIs through the Tea SDK (alibabacloud_rds20140815): V3 (default) and V1 ("v2")."""

import string

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException

from harness import ERROR_FIELDS, GATEWAY_MESSAGES, RDS_TYPE, REGION, assert_error_fields, rid, uid


@pytest.fixture(params=["v3", "v2"])
def tea(request, server):
    return server.tea(v2=request.param == "v2")


def tea_error(fn, status, code, message=None) -> ClientException:
    with pytest.raises(ClientException) as ei:
        fn()
    e = ei.value
    assert (e.status_code, e.code) == (status, code), f"{e.status_code} {e.code} {e.message} {e.data}"
    # .data is the whole error body (plus statusCode): the five fields must be there, non-empty.
    assert_error_fields({f: e.data.get(f) for f in ERROR_FIELDS}, repr(e.data))
    if message is None:
        message = GATEWAY_MESSAGES.get(code)
    if message is not None:
        assert e.data["Message"] == message, e.data
    return e


def test_roundtrip_models(tea, legacy):
    a, b = sorted([rid(), rid()])
    odd_key, odd_value = "team a*", "数据~/+="
    resp = tea.tag([a, b], [("env", "prod"), (odd_key, odd_value)])
    assert resp.status_code == 200
    assert resp.body.request_id

    resp = tea.list(ids=[a, b])
    assert resp.status_code == 200 and resp.body.request_id
    assert resp.body.next_token == ""
    got = [(t.resource_id, t.resource_type, t.tag_key, t.tag_value) for t in resp.body.tag_resources.tag_resource]
    assert got == [
        (a, RDS_TYPE, "env", "prod"), (a, RDS_TYPE, odd_key, odd_value),
        (b, RDS_TYPE, "env", "prod"), (b, RDS_TYPE, odd_key, odd_value),
    ]
    # The other SDK generation reads exactly the same (the '+'-for-space query of Tea was decoded right).
    assert legacy.rows(ids=[a, b]) == [(x[0], x[2], x[3]) for x in got]

    assert tea.untag([a], keys=[odd_key, "absent"]).status_code == 200
    assert tea.rows(ids=[a, b]) == [(a, "env", "prod"), (b, "env", "prod"), (b, odd_key, odd_value)]
    assert tea.untag([a, b], all_=True).status_code == 200  # Tea sends All=True
    assert tea.rows(ids=[a, b]) == []


def test_tag_without_region_id(tea, legacy):
    """The Tea SDK sends RegionId only when the request model sets it (spec §2.5)."""
    r = rid()
    tea_error(lambda: tea.tag([r], [("k", "v")], region=None), 400, "MissingParameter",
              "The parameter - RegionId should not be null")
    assert legacy.rows(ids=[r]) == []


def test_untag_needs_tag_key_or_all(tea, legacy):
    r = rid()
    tea.tag([r], [("a", "1"), ("b", "2")])
    before = legacy.rows(ids=[r])
    tea_error(lambda: tea.untag([r]), 400, "MissingParameter.TagKey", "You must specify TagKey.")
    tea_error(lambda: tea.untag([r], all_=False), 400, "MissingParameter.TagKey", "You must specify TagKey.")
    assert legacy.rows(ids=[r]) == before


def test_list_needs_ids_or_tags(tea):
    tea_error(lambda: tea.list(), 400, "MissingParameter")


def test_duplicate_key_error_fields(tea, legacy):
    r = rid()
    tea_error(lambda: tea.tag([r], [("d", "1"), ("d", "1")]), 400, "Duplicate.TagKey",
              "The Tag.N.Key contain duplicate key.")
    assert legacy.rows(ids=[r]) == []


def test_paging_collects_every_row_once(server):
    """31 resources x 5 tags = 155 rows: four pages of at most 50, NextToken "" on the last."""
    tea = server.tea()
    marker = "page-" + uid()
    ids = sorted(rid() for _ in range(31))
    tags = [(marker, "yes")] + [(f"p{i}", f"val{i}") for i in range(4)]
    tea.tag(ids, tags)
    expected = [(i, k, v) for i in ids for k, v in sorted(tags)]

    for query in ({"tags": [(marker, "yes")]}, {"tags": [(marker, None)]}, {"ids": ids}):
        pages, token = [], None
        while True:
            resp = tea.list(token=token, **query)
            page = [(t.resource_id, t.tag_key, t.tag_value) for t in resp.body.tag_resources.tag_resource]
            assert len(page) <= 50, f"page of {len(page)} rows"
            pages.append(page)
            token = resp.body.next_token
            assert token is not None, "NextToken missing"
            if token == "":
                break
            assert len(pages) < 20, "paging does not end"
        rows = [row for p in pages for row in p]
        assert rows == expected, query
        assert len(pages) >= 4, [len(p) for p in pages]


def _forge(token: str) -> str:
    """Change one character in the middle of a token (keeping it in the same alphabet)."""
    i = len(token) // 2
    alphabet = string.ascii_letters + string.digits
    c = token[i]
    repl = alphabet[(alphabet.index(c) + 7) % len(alphabet)] if c in alphabet else "A"
    return token[:i] + repl + token[i + 1:]


def test_bad_next_token(server):
    tea = server.tea()
    marker = "tok-" + uid()
    ids = sorted(rid() for _ in range(12))
    tea.tag(ids, [(marker, "1")] + [(f"t{i}", "x") for i in range(4)])  # 60 rows: 2 pages
    first = tea.list(tags=[(marker, None)])
    token = first.body.next_token
    assert token, "60 rows must not fit one page"
    assert tea.list(tags=[(marker, None)], token=token).status_code == 200
    for bad in ("garbage", "!!not a token!!", _forge(token), token[:-3]):
        tea_error(lambda: tea.list(tags=[(marker, None)], token=bad), 400, "Invalid.NextToken")


def test_space_and_specials_in_key_roundtrip_between_sdks(tea, legacy):
    r = rid()
    key, value = "a b+c*d~e/f", "x y%20z"
    legacy.tag([r], [(key, value)])
    got = [(t.resource_id, t.tag_key, t.tag_value) for t in tea.list(ids=[r]).body.tag_resources.tag_resource]
    assert got == [(r, key, value)]
    got = [(t.resource_id, t.tag_key, t.tag_value) for t in tea.list(tags=[(key, value)]).body.tag_resources.tag_resource]
    assert got == [(r, key, value)]
    tea.untag([r], keys=[key])
    assert legacy.rows(ids=[r]) == []


def test_other_region_sees_nothing(tea):
    r = rid()
    tea.tag([r], [("k", "v")], region=REGION)
    assert tea.rows(ids=[r], region="ap-southeast-1") == []
    assert tea.rows(ids=[r]) == [(r, "k", "v")]
