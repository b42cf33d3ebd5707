"""The Baidu dialect together with the rest of tagd: idempotent writes under the SDK's retries and replays,
restarts, account isolation, separation from the Alibaba dialects on the same store, `--resources registered`,
and the quota under concurrency.

Contract: shared/spec/bce.md §3.6, §9 items 10-15; docs/baidu.md ("The model", design answers 1-5).
"""

import http.client
import http.server
import json
import threading
import uuid

import pytest

from harness import (REGION, BceAccount, BceRaw, assert_bce_error, assert_bce_write_ok, bce_sdk,
                     expect_bce_sdk_error, retire_server, spawn_server, tag_client, uid)

LIMIT = "TagExceptions.LimitExceeded"


# --- idempotency: resends and replays leave the state of one request (spec §3.6) ---------------------------

def _setup(acct):
    raw = acct.raw("go")
    assert_bce_write_ok(raw.create([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "old", "tagValue": ""}]))
    assert_bce_write_ok(raw.bind("env", "prod", "BCC", [("i-1", "bj"), ("i-2", "bj")]))
    assert_bce_write_ok(raw.bind("old", "", "BCC", [("i-1", "bj")]))


# op name -> (SDK call, raw request args)
OPS = {
    "create": (lambda s: s.create_tags([{"tagKey": "new", "tagValue": "1"}, {"tagKey": "env", "tagValue": "prod"}]),
               ("PUT", "/v1/tag", [("create", None)],
                {"tags": [{"tagKey": "new", "tagValue": "1"}, {"tagKey": "env", "tagValue": "prod"}]})),
    "delete": (lambda s: s.delete_tags([{"tagKey": "env", "tagValue": "prod"}]),
               ("PUT", "/v1/tag", [("delete", None)], {"tags": [{"tagKey": "env", "tagValue": "prod"}]})),
    "bind": (lambda s: s.bind("env", "dev", "BCC", [("i-1", "bj"), ("i-3", "gz")]),
             ("POST", "/v1/resource", None, {"tagKey": "env", "tagValue": "dev", "serviceType": "BCC", "resources": [
                 {"resourceId": "i-1", "serviceType": "BCC", "region": "bj"},
                 {"resourceId": "i-3", "serviceType": "BCC", "region": "gz"}]})),
    "unbind": (lambda s: s.unbind("env", "prod", "BCC", [("i-1", "bj")]),
               ("PUT", "/v1/resource", None, {"tagKey": "env", "tagValue": "prod", "serviceType": "BCC",
                                              "resources": [{"resourceId": "i-1", "serviceType": "BCC",
                                                             "region": "bj"}]})),
    "deleteTagAssociation": (lambda s: s.delete_tag_association("i-1", "BCC", "bj"),
                             ("PUT", "/v1/tag", [("deleteTagAssociation", None)],
                              {"resource": {"resourceId": "i-1", "serviceType": "BCC", "region": "bj"}})),
    "createAndAssign": (lambda s: s.create_and_assign([{"resourceId": "i-1", "serviceType": "BCC", "region": "bj",
                                                        "tags": [{"tagKey": "x", "tagValue": "1"},
                                                                 {"tagKey": "env", "tagValue": "prod"}]}]),
                        ("POST", "/v1/tag", [("createAndAssign", None)],
                         {"resources": [{"resourceId": "i-1", "serviceType": "BCC", "region": "bj",
                                         "tags": [{"tagKey": "x", "tagValue": "1"},
                                                  {"tagKey": "env", "tagValue": "prod"}]}]})),
}


def _portable(acct) -> dict:
    """An account's state without what differs between accounts (accountId, the numbers of tagIds)."""
    snap = acct.snapshot()
    ids = acct.raw().tag_ids()
    rank = {tid: i for i, tid in enumerate(sorted(ids.values()))}

    def norm(rows):
        out = []
        for r in rows:
            d = json.loads(r)
            assert d.pop("accountId") == acct.id
            d["tagId"] = rank[d["tagId"]]
            out.append(json.dumps(d, sort_keys=True))
        return sorted(out)

    return {"tags": snap["tags"], "tagResources": snap["tagResources"], "full": norm(snap["full"]),
            "strong": norm(snap["strong"])}


@pytest.mark.parametrize("op", list(OPS))
def test_replayed_write_leaves_the_state_of_one(server, op):
    """The identical signed bytes sent twice (a resend, a replay) leave exactly the state of one."""
    acct = BceAccount(server)
    _setup(acct)
    raw = acct.raw("go")
    req = raw.build(*OPS[op][1])
    assert_bce_write_ok(raw.send(req))
    once = acct.snapshot()
    assert_bce_write_ok(raw.send(req))
    assert_bce_write_ok(raw.send(req))
    assert acct.snapshot() == once


class LossyProxy:
    """Between the SDK and tagd: forwards every request, but answers the first `lose` of them 503 after tagd has
    done the work (a response lost on the way). The SDK's BackOffRetryPolicy then resends."""

    def __init__(self, server, lose: int):
        self.server = server
        self.lose = lose
        self.forwarded = []  # [(method, path, tagd's status)]
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                conn = http.client.HTTPConnection("127.0.0.1", proxy.server.port, timeout=15)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    conn.putheader(k, v)
                conn.endheaders(body or None)
                resp = conn.getresponse()
                data = resp.read()
                headers = resp.getheaders()
                conn.close()
                proxy.forwarded.append((self.command, self.path, resp.status))
                if proxy.lose > 0:
                    proxy.lose -= 1
                    rid_ = str(uuid.uuid4())
                    err = json.dumps({"requestId": rid_, "code": "ServiceUnavailable",
                                      "message": "lost on the way"}).encode()
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("x-bce-request-id", rid_)
                    self.send_header("Content-Length", str(len(err)))
                    self.end_headers()
                    self.wfile.write(err)
                    return
                self.send_response(resp.status)
                for k, v in headers:
                    if k.lower() not in ("date", "server", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("op", list(OPS))
def test_sdk_retry_after_a_lost_response(server, op):
    """bce-python-sdk resends on 503 (3 retries); tagd executed every attempt, and the state equals that of
    another account that sent the request once."""
    once, twice = BceAccount(server), BceAccount(server)
    _setup(once)
    _setup(twice)
    OPS[op][0](once.sdk())
    proxy = LossyProxy(server, lose=2)
    try:
        sdk = bce_sdk(server, twice.ak, twice.secret, endpoint=proxy.endpoint, retry_base_ms=5)
        OPS[op][0](sdk)
        assert [s for _, _, s in proxy.forwarded] == [200, 200, 200], proxy.forwarded
        assert [st for st, _ in sdk.attempts] == [503, 503, 200]
    finally:
        proxy.close()
    assert _portable(twice) == _portable(once)


def test_sdk_gives_up_after_three_retries(server):
    acct = BceAccount(server)
    proxy = LossyProxy(server, lose=10)
    try:
        sdk = bce_sdk(server, acct.ak, acct.secret, endpoint=proxy.endpoint, retry_base_ms=5)
        from baidubce.exception import BceHttpClientError

        with pytest.raises(BceHttpClientError) as ei:
            sdk.create_tags([{"tagKey": "r", "tagValue": ""}])
        assert (ei.value.status_code, ei.value.code) == (503, "ServiceUnavailable")
        assert len(proxy.forwarded) == 4
    finally:
        proxy.close()
    assert acct.raw().tags() == [("r", "")]  # four creates of one tag: one tag


# --- restart -------------------------------------------------------------------------------------------------

def test_restart_keeps_everything(tagd_bin, tmp_path_factory):
    srv = spawn_server(tagd_bin, tmp_path_factory, "--bce-tag-quota", "4")
    try:
        acct = BceAccount(srv)
        sdk = acct.sdk()
        sdk.create_tags([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "idle", "tagValue": ""}])
        sdk.bind("env", "prod", "BCC", [("i-1", "bj"), ("i-2", "gz")])
        sdk.create_and_assign([{"resourceId": "i-3", "serviceType": "EIP", "region": "bj",
                                "tags": [{"tagKey": "项目", "tagValue": "值"}, {"tagKey": "env", "tagValue": "prod"}]}])
        sdk.create_tags([{"tagKey": "gone", "tagValue": ""}])
        gone_id = acct.raw().tag_ids()[("gone", "")]
        sdk.delete_tags([{"tagKey": "gone", "tagValue": ""}])
        before = acct.snapshot()
        ids = acct.raw().tag_ids()
        srv.restart()
        assert acct.snapshot() == before
        sdk = acct.sdk()  # the same key, on the new process (new port)
        assert [(t.tag_key, t.tag_value) for t in sdk.list_tags().tags] == [("env", "prod"), ("idle", ""), ("项目", "值")]
        # the quota still counts the catalogue: 3 + 1 fits, one more does not
        sdk.create_tags([{"tagKey": "fourth", "tagValue": ""}])
        expect_bce_sdk_error(sdk, lambda: sdk.create_tags([{"tagKey": "fifth", "tagValue": ""}]), LIMIT)
        # ids are never reused, across restarts too
        new_id = acct.raw().tag_ids()[("fourth", "")]
        assert new_id not in set(ids.values()) | {gone_id}
        srv.restart()
        assert acct.raw().tag_ids() == {**ids, ("fourth", ""): new_id}
    finally:
        retire_server(srv)


# --- accounts -----------------------------------------------------------------------------------------------

def test_account_isolation(server):
    a, b = BceAccount(server), BceAccount(server)
    sa, sb = a.sdk(), b.sdk()
    sa.create_tags([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "idle", "tagValue": ""}])
    sa.bind("env", "prod", "BCC", [("i-shared", "bj")])
    sa.create_and_assign([{"resourceId": "i-other", "serviceType": "BCC", "region": "bj",
                           "tags": [{"tagKey": "team", "tagValue": "core"}]}])
    state_a = a.snapshot()
    empty = {"tags": [], "tagResources": [], "full": [], "strong": []}
    assert b.snapshot() == empty
    for filters in ({"tagKey": "env"}, {"resourceIds": ["i-shared"]}, {"regions": ["bj"]}):
        assert b.raw().full(False, body=filters) == []
    assert b.raw().tags("env", "prod") == []
    assert b.raw().resources_by_tag("env") == []
    # b's writes on the same names and resource ids touch only b
    sb.delete_tags([{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "idle", "tagValue": ""}])
    sb.unbind("env", "prod", "BCC", [("i-shared", "bj")])
    sb.delete_tag_association("i-shared", "BCC", "bj")
    sb.delete_tag_association("i-other", "BCC", "bj")
    assert b.snapshot() == empty
    assert a.snapshot() == state_a
    sb.create_and_assign([{"resourceId": "i-other", "serviceType": "BCC", "region": "bj", "tags": []}])
    sb.bind("env", "prod", "BCC", [("i-shared", "bj")])
    assert a.snapshot() == state_a
    assert b.raw().full(True) == [("env", "prod", "BCC", "bj", "i-shared")]
    assert {r["accountId"] for r in b.raw().full_rows(False)} == {b.id}
    assert {r["accountId"] for r in a.raw().full_rows(False)} == {a.id}
    # a's delete removes a's binding only
    sa.delete_tags([{"tagKey": "env", "tagValue": "prod"}])
    assert b.raw().full(True) == [("env", "prod", "BCC", "bj", "i-shared")]


# --- the Alibaba dialects on the same store (docs/baidu.md, design answers 1, 3, 5) -------------------------

def test_baidu_bindings_are_invisible_to_alibaba(server):
    acct = BceAccount(server)
    rid_ = f"rm-{uid()}"
    sdk = acct.sdk()
    # the same resource id, type and region names an Alibaba RDS instance would have
    sdk.bind("env", "prod", "RDS", [(rid_, REGION)])
    sdk.create_and_assign([{"resourceId": rid_, "serviceType": "INSTANCE", "region": REGION,
                            "tags": [{"tagKey": "team", "tagValue": "core"}]}])
    rds = server.raw(acct.ak, acct.secret)
    assert rds.rows(ids=[rid_]) == []
    assert rds.rows(tags=[("env", "prod")]) == []
    tag = tag_client(server, "raw-v1", acct.ak, acct.secret)
    assert tag.all_resources() == []
    assert tag.all_keys() == []
    assert tag.all_keys(query_type="MetaTag") == []


def test_alibaba_tags_are_invisible_to_baidu(server):
    acct = BceAccount(server)
    rid_ = f"rm-{uid()}"
    rds = server.raw(acct.ak, acct.secret)
    assert rds.tag([rid_], [("env", "prod"), ("team", "core")]).status == 200
    tag = tag_client(server, "raw-v1", acct.ak, acct.secret)
    tag.create_tags([{"Key": "preset", "TagValueParamList": [{"Value": "v"}]}])
    tag.tag_ok([f"acs:ecs:{REGION}:{acct.id}:instance/i-{uid()}"], {"ecs": "1"})
    assert acct.snapshot() == {"tags": [], "tagResources": [], "full": [], "strong": []}
    raw = acct.raw()
    assert raw.full(False, body={"resourceIds": [rid_]}) == []
    assert raw.tags("env") == [] and raw.tags("preset") == []


def test_baidu_writes_never_touch_alibaba_resources(server):
    acct = BceAccount(server)
    rid_ = f"rm-{uid()}"
    rds = server.raw(acct.ak, acct.secret)
    assert rds.tag([rid_], [("env", "prod")]).status == 200
    sdk = acct.sdk()
    sdk.bind("env", "prod", "RDS", [(rid_, REGION)])
    # deleting the Baidu catalogue tag unbinds it from BCE:: resources only
    sdk.delete_tags([{"tagKey": "env", "tagValue": "prod"}])
    assert acct.raw().full(False) == []
    assert rds.rows(ids=[rid_]) == [(rid_, "env", "prod")]
    # nor do deleteTagAssociation, unbind or createAndAssign on the same id
    sdk.bind("env", "prod", "RDS", [(rid_, REGION)])
    sdk.unbind("env", "prod", "RDS", [(rid_, REGION)])
    sdk.bind("env", "prod", "RDS", [(rid_, REGION)])
    sdk.delete_tag_association(rid_, "RDS", REGION)
    sdk.create_and_assign([{"resourceId": rid_, "serviceType": "RDS", "region": REGION, "tags": []}])
    assert rds.rows(ids=[rid_]) == [(rid_, "env", "prod")]


def test_alibaba_writes_never_touch_baidu_resources(server):
    acct = BceAccount(server)
    rid_ = f"rm-{uid()}"
    sdk = acct.sdk()
    sdk.bind("env", "prod", "RDS", [(rid_, REGION)])
    before = acct.snapshot()
    rds = server.raw(acct.ak, acct.secret)
    assert rds.tag([rid_], [("env", "staging")]).status == 200
    assert rds.untag([rid_], all_="true").status == 200
    tag = tag_client(server, "raw-v1", acct.ak, acct.secret)
    tag.tag_ok([f"acs:rds:{REGION}:{acct.id}:instance/{rid_}"], {"env": "x"})
    tag.untag([f"acs:rds:{REGION}:{acct.id}:instance/{rid_}"], ["env"])
    assert acct.snapshot() == before


def test_one_key_signs_both_dialects(server):
    """docs/baidu.md: one access key signs bce-auth-v1 and Alibaba's V1/V3."""
    acct = BceAccount(server)
    rds = server.raw(acct.ak, acct.secret)
    assert rds.tag([f"rm-{uid()}"], [("a", "1")]).status == 200
    assert rds.v3("ListTagResources", [("RegionId", REGION), ("ResourceType", "INSTANCE"),
                                       ("Tag.1.Key", "a")]).status == 200
    assert_bce_write_ok(acct.raw().create([{"tagKey": "a", "tagValue": "1"}]))


# --- --resources registered (docs/baidu.md, "Errors") --------------------------------------------------------

@pytest.fixture(scope="module")
def registered_server(tagd_bin, tmp_path_factory):
    s = spawn_server(tagd_bin, tmp_path_factory, "--resources", "registered")
    yield s
    retire_server(s)


def test_registered_resources(registered_server):
    srv = registered_server
    acct = BceAccount(srv)
    raw = acct.raw()
    srv.resource_register(acct.id, "bj", "i-reg", "BCE::BCC::RESOURCE")
    srv.resource_register(acct.id, "bj", "i-ali", "ALIYUN::ECS::INSTANCE")
    assert_bce_write_ok(raw.bind("env", "prod", "bcc", [("i-reg", "bj")]))
    base = acct.snapshot()
    for call in (lambda: raw.bind("env", "prod", "BCC", [("i-unknown", "bj")]),
                 lambda: raw.bind("env", "prod", "BCC", [("i-reg", "gz")]),
                 lambda: raw.bind("env", "prod", "EIP", [("i-reg", "bj")]),
                 lambda: raw.bind("env", "prod", "BCC", [("i-reg", "bj"), ("i-ali", "bj")]),
                 lambda: raw.create_and_assign([{"resourceId": "i-unknown", "serviceType": "BCC", "region": "bj",
                                                 "tags": [{"tagKey": "a", "tagValue": ""}]}])):
        assert_bce_error(call(), "InappropriateJSON")
        assert acct.snapshot() == base
    # the catalogue itself needs no registered resource
    assert_bce_write_ok(raw.create([{"tagKey": "free", "tagValue": ""}]))


# --- concurrency: the quota holds (spec §9 item 10) ----------------------------------------------------------

@pytest.fixture(scope="module")
def quota10_server(tagd_bin, tmp_path_factory):
    s = spawn_server(tagd_bin, tmp_path_factory, "--bce-tag-quota", "10")
    yield s
    retire_server(s)


def _parallel(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return results


def test_concurrent_binds_respect_the_quota(quota10_server):
    acct = BceAccount(quota10_server)
    styles = ["go", "java", "python", "node"]

    def bind(i):
        return BceRaw(quota10_server, acct.ak, acct.secret, styles[i % 4]).bind(
            f"c{i:02d}", "v", "BCC", [(f"i-{i:02d}", "bj")])

    results = _parallel(20, bind)
    ok = [i for i, r in enumerate(results) if r.status == 200]
    for i, r in enumerate(results):
        if i in ok:
            assert_bce_write_ok(r)
        else:
            assert_bce_error(r, LIMIT)
    assert len(ok) == 10, [r for r in results]
    raw = acct.raw()
    assert raw.tags() == [(f"c{i:02d}", "v") for i in ok]
    assert raw.full(False) == [(f"c{i:02d}", "v", "BCC", "bj", f"i-{i:02d}") for i in ok]


def test_concurrent_creates_through_the_sdk(quota10_server):
    acct = BceAccount(quota10_server)

    def create(i):
        s = acct.sdk()
        s.create_tags([{"tagKey": f"n{i:02d}", "tagValue": ""}])
        return True

    results = _parallel(20, create)
    from baidubce.exception import BceHttpClientError

    ok = [i for i, r in enumerate(results) if r is True]
    for i, r in enumerate(results):
        if i not in ok:
            assert isinstance(r, BceHttpClientError), r
            assert (r.status_code, r.code) == (413, LIMIT)
    assert len(ok) == 10
    assert acct.raw().tags() == [(f"n{i:02d}", "") for i in ok]


def test_concurrent_same_tags_are_one(quota10_server):
    acct = BceAccount(quota10_server)
    tags = [{"tagKey": f"s{i}", "tagValue": ""} for i in range(10)]
    results = _parallel(16, lambda i: acct.raw("go").create(tags))
    for r in results:
        assert_bce_write_ok(r)
    assert acct.raw().tags() == [(f"s{i}", "") for i in range(10)]
    assert len(set(acct.raw().tag_ids().values())) == 10


def test_concurrent_create_and_assign_is_atomic(quota10_server):
    acct = BceAccount(quota10_server)
    sets = [[{"tagKey": f"k{j}", "tagValue": str(i)} for j in range(3)] for i in range(3)]

    def assign(i):
        return acct.raw("java").create_and_assign([{"resourceId": "i-race", "serviceType": "BCC", "region": "bj",
                                                    "tags": sets[i % 3]}])

    for r in _parallel(9, assign):
        assert_bce_write_ok(r)
    rows = acct.raw().full(True)
    assert len({v for _, v, _, _, _ in rows}) == 1 and len(rows) == 3, rows  # exactly one of the sets
    assert len(acct.raw().tags()) == 9
