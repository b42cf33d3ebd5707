"""Accounts and keys (the tagd CLI on a live server), restarts, crash safety, health and metrics."""

import http.client
import re
import socket
import threading
import time

import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ServerException

from harness import ENGINE, REGION, assert_raw_error, retire_server, rid, spawn_server, uid


# --- health and metrics ------------------------------------------------------------------------

def test_the_server_runs_on_the_engine_the_suite_names(server):
    # TAGD_TEST_ENGINE=postgres runs this whole suite on PostgreSQL: make sure it did.
    assert f'engine="{ENGINE}"' in server.stderr_path.read_text(), server.logs()


def test_healthz_needs_no_signature(server):
    r = requests.get(f"{server.base_url}/healthz", timeout=5)
    assert r.status_code == 200


def test_metrics_count_requests(server):
    raw = server.raw()
    assert raw.tag([rid()], [("m", "1")]).status == 200
    r = requests.get(f"{server.base_url}/metrics", timeout=5)
    assert r.status_code == 200
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("text/plain") or ct.startswith("application/openmetrics-text"), ct
    samples = [ln for ln in r.text.splitlines() if re.match(r"^tagd_requests_total(\{[^}]*\})?\s+\S+$", ln)]
    assert samples, f"no tagd_requests_total sample in:\n{r.text[:2000]}"
    assert sum(float(ln.split()[-1]) for ln in samples) >= 1


def test_keep_alive_and_an_idle_connection_blocks_no_one(server):
    # A half-sent request on one connection must not stall other clients (the SDKs pool connections).
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        idle.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        r = rid()
        assert server.raw().tag([r], [("k", "v")]).status == 200
        # HTTP/1.1 keep-alive: two requests on one connection.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        assert first.status == 200 and sock is not None, "connection closed after the first response"
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        second.read()
        assert second.status == 200
        assert conn.sock is sock, "the server did not keep the connection alive"
        conn.close()
    finally:
        idle.close()


# --- accounts and keys ---------------------------------------------------------------------------

def test_account_isolation(server):
    key = "owner-" + uid(6)
    r = rid()
    root = server.raw()
    assert root.tag([r], [(key, "root")]).status == 200

    acc = server.create_account("acme-" + uid(6))
    other = server.raw(acc["access_key_id"], acc["access_key_secret"])
    assert other.rows(ids=[r]) == []
    assert other.rows(tags=[(key, None)]) == []
    assert other.tag([r], [(key, "acme"), ("only-acme", "1")]).status == 200
    assert root.rows(ids=[r]) == [(r, key, "root")]
    assert other.rows(ids=[r]) == sorted([(r, key, "acme"), (r, "only-acme", "1")])
    # The new account's key works with every client generation.
    legacy = server.legacy(acc["access_key_id"], acc["access_key_secret"])
    assert legacy.rows(ids=[r]) == sorted([(r, key, "acme"), (r, "only-acme", "1")])
    tea = server.tea(acc["access_key_id"], acc["access_key_secret"])
    assert tea.rows(tags=[(key, None)]) == sorted([(r, key, "acme"), (r, "only-acme", "1")])
    # Untagging in one account leaves the other alone.
    assert other.untag([r], all_="true").status == 200
    assert root.rows(ids=[r]) == [(r, key, "root")]
    assert other.rows(ids=[r]) == []


def test_key_create_list_disable(server):
    acc = server.create_account("keys-" + uid(6))
    acct = acc["account_id"]
    k1 = (acc["access_key_id"], acc["access_key_secret"])
    k2_info = server.key_create(acct)
    k2 = (k2_info["access_key_id"], k2_info["access_key_secret"])
    assert k2[0] != k1[0]

    r = rid()
    assert server.raw(*k1).tag([r], [("k", "v")]).status == 200
    assert server.raw(*k2).rows(ids=[r]) == [(r, "k", "v")]  # same account, same tags

    listed = {k["access_key_id"]: k["enabled"] for k in server.key_list(acct)}
    assert listed == {k1[0]: True, k2[0]: True}

    server.key_disable(k2[0])
    resp = server.raw(*k2).tag([r], [("k", "from-disabled")])
    assert_raw_error(resp, 400, "InvalidAccessKeyId.Inactive")
    resp = server.raw(*k2).v3("TagResources", [("RegionId", REGION), ("ResourceType", "INSTANCE"),
                                               ("ResourceId.1", r), ("Tag.1.Key", "k"), ("Tag.1.Value", "v3")])
    assert_raw_error(resp, 400, "InvalidAccessKeyId.Inactive")
    with pytest.raises(ServerException) as ei:
        server.legacy(*k2).list(ids=[r])
    assert (ei.value.get_http_status(), ei.value.get_error_code()) == (400, "InvalidAccessKeyId.Inactive")

    assert {k["access_key_id"]: k["enabled"] for k in server.key_list(acct)} == {k1[0]: True, k2[0]: False}
    assert server.raw(*k1).rows(ids=[r]) == [(r, "k", "v")]  # the other key still works; nothing changed


def test_nonces_are_scoped_per_key(server):
    acc = server.create_account("nonce-" + uid(6))
    nonce = uid(32)
    r = rid()
    assert server.raw().tag([r], [("root", "1")], nonce=nonce).status == 200
    other = server.raw(acc["access_key_id"], acc["access_key_secret"])
    assert other.tag([r], [("acc", "1")], nonce=nonce).status == 200
    assert_raw_error(other.tag([r], [("acc", "2")], nonce=nonce), 400, "SignatureNonceUsed")
    assert other.rows(ids=[r]) == [(r, "acc", "1")]


def test_unknown_key_after_account_create(server):
    server.create_account("ghost-check-" + uid(6))
    resp = server.raw("LTAI" + uid(20), "x" * 30).tag([rid()], [("k", "v")])
    assert_raw_error(resp, 404, "InvalidAccessKeyId.NotFound")


# --- restarts ---------------------------------------------------------------------------------------

def test_graceful_restart_keeps_everything(fresh_server):
    srv = fresh_server
    acc = srv.create_account("persist-" + uid(6))
    ids = sorted(rid() for _ in range(3))
    assert srv.raw().tag(ids, [("a", "1"), ("b", "数据")]).status == 200
    assert srv.raw().tag(ids[:1], [("a", "2")], region="eu-central-1").status == 200
    assert srv.raw(acc["access_key_id"], acc["access_key_secret"]).tag(ids, [("acc", "x")]).status == 200
    root_rows = srv.raw().rows(ids=ids)
    acc_rows = srv.raw(acc["access_key_id"], acc["access_key_secret"]).rows(ids=ids)

    srv.stop()  # SIGTERM, exit code 0
    srv.start()
    assert srv.raw().rows(ids=ids) == root_rows
    assert srv.raw().rows(ids=ids, region="eu-central-1") == [(ids[0], "a", "2")]
    assert srv.raw(acc["access_key_id"], acc["access_key_secret"]).rows(ids=ids) == acc_rows
    assert srv.legacy().rows(ids=ids) == root_rows

    srv.restart()  # a second cycle
    assert srv.raw().rows(ids=ids) == root_rows


def test_kill9_keeps_acknowledged_writes(fresh_server):
    srv = fresh_server
    n_threads = 6
    acked = [[] for _ in range(n_threads)]  # per thread: (ids, tags) of writes that got a 200
    unexpected = []
    halt = threading.Event()

    def writer(t):
        client = srv.raw()
        i = 0
        while not halt.is_set():
            ids = [rid(), rid()]
            tags = [("writer", str(t)), ("seq", str(i))]
            try:
                resp = client.tag(ids, tags)
            except requests.RequestException:
                return  # the server is gone
            if resp.status == 200:
                acked[t].append((ids, tags))
            elif not halt.is_set():
                unexpected.append(resp)
                return
            i += 1

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(n_threads)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 20
    while sum(map(len, acked)) < 300 and time.monotonic() < deadline and not unexpected:
        time.sleep(0.02)
    srv.kill9()
    halt.set()
    for th in threads:
        th.join(timeout=30)
        assert not th.is_alive()
    assert not unexpected, unexpected[:3]
    writes = [w for per in acked for w in per]
    print(f"kill -9 after {len(writes)} acknowledged writes by {n_threads} threads")
    assert len(writes) >= 30, f"only {len(writes)} writes acknowledged in 20 s: too few for a meaningful test"

    srv.start()
    # A second crash right after the restart: the replayed records are committed without fsync
    # and stay in the log until the first checkpoint (~200 ms after an idle start), so a crash
    # before it must replay them again.
    srv.kill9()
    srv.start()
    expected = sorted((r, k, v) for ids, tags in writes for r in ids for k, v in tags)
    all_ids = sorted(r for ids, _ in writes for r in ids)
    client = srv.raw()
    got = []
    for i in range(0, len(all_ids), 50):
        got += client.rows(ids=all_ids[i:i + 50])
    missing = sorted(set(expected) - set(got))
    assert not missing, f"{len(missing)} acknowledged tag rows lost after kill -9, e.g. {missing[:5]}"
    assert sorted(got) == expected
    # And the server takes writes again.
    r = rid()
    assert client.tag([r], [("after", "crash")]).status == 200
    assert client.rows(ids=[r]) == [(r, "after", "crash")]


# --- --resources registered ----------------------------------------------------------------------

MSG_NOT_FOUND = "The requested resource is not available."


@pytest.fixture(scope="module")
def registered_server(tagd_bin, tmp_path_factory):
    s = spawn_server(tagd_bin, tmp_path_factory, "--resources", "registered")
    yield s
    retire_server(s)


def test_registered_mode(registered_server):
    srv = registered_server
    acc = srv.create_account("reg-" + uid(6))
    acct = acc["account_id"]
    client = srv.raw(acc["access_key_id"], acc["access_key_secret"])
    known, unknown = sorted([rid(), rid()])
    srv.resource_register(acct, REGION, known)

    assert client.tag([known], [("a", "1")]).status == 200
    assert_raw_error(client.tag([unknown], [("a", "1")]), 400, "Request.NotFound", MSG_NOT_FOUND)
    # A request mixing a registered and an unregistered id changes nothing.
    assert_raw_error(client.tag([known, unknown], [("b", "2")]), 400, "Request.NotFound", MSG_NOT_FOUND)
    assert_raw_error(client.tag([unknown, known], [("a", "changed")]), 400, "Request.NotFound", MSG_NOT_FOUND)
    assert client.rows(ids=[known, unknown]) == [(known, "a", "1")]
    # Registration is per region and per account.
    assert_raw_error(client.tag([known], [("a", "1")], region="cn-shanghai"), 400, "Request.NotFound", MSG_NOT_FOUND)
    assert_raw_error(srv.raw().tag([known], [("a", "1")]), 400, "Request.NotFound", MSG_NOT_FOUND)

    # Deregistering deletes the resource's tags.
    srv.resource_deregister(acct, REGION, known)
    assert client.rows(ids=[known]) == []
    assert_raw_error(client.tag([known], [("a", "1")]), 400, "Request.NotFound", MSG_NOT_FOUND)
    srv.resource_register(acct, REGION, known)
    assert client.rows(ids=[known]) == []  # the old tags are gone, not hidden
    assert client.tag([known], [("fresh", "1")]).status == 200
    assert client.rows(ids=[known]) == [(known, "fresh", "1")]
