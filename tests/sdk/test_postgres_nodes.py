"""Scale-out: several `tagd serve` processes on one PostgreSQL database (`--database-url`) are one service. Whatever
TAGD_TEST_ENGINE says, these servers share a schema of their own on TAGD_TEST_DATABASE_URL."""

import concurrent.futures
import subprocess
import time

import pytest

from harness import DATABASE_URL, assert_raw_error, new_schema, psql, retire_server, rid, schema_url, spawn_server

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


def test_a_node_outlives_its_database_sessions(tagd_bin, tmp_path_factory):
    # PostgreSQL restarting, or a proxy dropping idle connections, ends a node's sessions under it: the node opens new
    # ones. A request that meets a dead session is answered 503 ServiceUnavailable (a retryable error), never 500.
    schema = new_schema()
    name = f"tagd-e2e-{schema}"
    env = {"TAGD_DATABASE_URL": f"{schema_url(schema)}&application_name={name}"}
    node = spawn_server(tagd_bin, tmp_path_factory, env=env)
    try:
        r = rid()
        assert node.raw().tag([r], [("k", "v")]).status == 200
        psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'")
        answers = []
        for _ in range(5):
            resp = node.raw().list_page(ids=[r])
            answers.append(resp.status)
            if resp.status == 200:
                break
            assert_raw_error(resp, 503, "ServiceUnavailable")
        assert answers[-1] == 200, answers
        assert node.raw().rows(ids=[r]) == [(r, "k", "v")]
        assert node.raw().tag([r], [("k2", "v2")]).status == 200
    finally:
        retire_server(node)
        psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_nodes_name_their_sessions_tagd(nodes):
    # Without ?application_name= in the URL, a node's sessions are named "tagd" in pg_stat_activity.
    a, _ = nodes
    assert a.raw().list_page(ids=[rid()]).status == 200
    p = subprocess.run(["psql", DATABASE_URL, "-Atc",
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tagd'"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0 and int(p.stdout.strip()) >= 1, (p.stdout, p.stderr)
