"""Scale-out: several `tagd serve` processes on one PostgreSQL database (`--database-url`) are one service. Whatever
TAGD_TEST_ENGINE says, these servers share a schema of their own on TAGD_TEST_DATABASE_URL."""

import concurrent.futures
import time

import pytest

from harness import assert_raw_error, new_schema, psql, retire_server, rid, schema_url, spawn_server

CACHE_SECS = 2


@pytest.fixture
def nodes(tagd_bin, tmp_path_factory):
    schema = new_schema()
    env = {"TAGD_DATABASE_URL": schema_url(schema), "TAGD_CREDENTIAL_CACHE_SECS": str(CACHE_SECS)}
    started = []
    try:
        for _ in range(2):
            started.append(spawn_server(tagd_bin, tmp_path_factory, env=env))
        yield started
    finally:
        for s in started:
            retire_server(s)
        psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_every_node_serves_the_same_tags(nodes):
    a, b = nodes
    for node in nodes:
        assert 'engine="postgres"' in node.stderr_path.read_text(), node.logs()
    r = rid()
    assert a.raw().tag([r], [("env", "prod"), ("team", "db")]).status == 200
    assert b.raw().rows(ids=[r]) == [(r, "env", "prod"), (r, "team", "db")]
    assert b.raw().untag([r], ["team"]).status == 200
    assert a.raw().rows(ids=[r]) == [(r, "env", "prod")]
    assert [row[0] for row in a.raw().rows(tags=[("env", "prod")])] == [r]

    # A node that dies takes nothing with it: what it acknowledged is the database's.
    w = rid()
    assert a.raw().tag([w], [("k", "v")]).status == 200
    a.kill9()
    assert b.raw().rows(ids=[w]) == [(w, "k", "v")]
    a.start()
    assert a.raw().rows(ids=[w]) == [(w, "k", "v")]


def test_an_account_made_on_the_database_works_on_every_node(nodes):
    a, b = nodes
    made = a.create_account("shared")  # the CLI with TAGD_DATABASE_URL: straight to the database
    r = rid()
    assert b.raw(made["access_key_id"], made["access_key_secret"]).tag([r], [("k", "v")]).status == 200
    assert a.raw(made["access_key_id"], made["access_key_secret"]).rows(ids=[r]) == [(r, "k", "v")]
    assert a.raw().rows(ids=[r]) == [], "another account's resource"


def test_a_disabled_key_stops_working_on_every_node_within_the_cache_time(nodes):
    a, b = nodes
    made = a.create_account("rotating")
    key = (made["access_key_id"], made["access_key_secret"])
    r = rid()
    for node in nodes:  # both nodes have read the key now
        assert node.raw(*key).tag([r], [("k", "v")]).status == 200
    a.key_disable(key[0])  # on the database, through neither node
    time.sleep(CACHE_SECS + 0.5)
    for node in nodes:
        assert_raw_error(node.raw(*key).tag([r], [("k", "after")]), 400, "InvalidAccessKeyId.Inactive")
        assert_raw_error(node.raw(*key).list_page(ids=[r]), 400, "InvalidAccessKeyId.Inactive")
    assert b.raw().rows(ids=[r]) == [], "root's account is another one"


def test_a_resource_quota_holds_across_nodes(nodes):
    # 24 one-tag writes to one resource, half through each node, at once: exactly 20 (the per-resource limit) are
    # acknowledged and stored, the others refused with OperationDenied.QuotaExceed. A node checking its own view only
    # would let more in.
    a, b = nodes
    r = rid()

    def write(i):
        node = (a, b)[i % 2]
        return node.raw().tag([r], [(f"k{i:02}", "v")])

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(write, range(24)))
    ok = [i for i, resp in enumerate(answers) if resp.status == 200]
    for resp in answers:
        if resp.status != 200:
            assert_raw_error(resp, 400, "OperationDenied.QuotaExceed")
    assert len(ok) == 20, [resp.status for resp in answers]
    assert sorted(row[1] for row in a.raw().rows(ids=[r])) == [f"k{i:02}" for i in ok]
