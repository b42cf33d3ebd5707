"""Fixtures for the end-to-end suite: a real `tagd serve` driven by Alibaba's real Python SDKs.

Environment: TAGD_BIN = path to the built tagd binary (default: <repo>/target/debug/tagd).
The helpers (server process, raw signer, SDK wrappers) live in harness.py.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # harness.py, whatever the import mode

from harness import (REPO, _LIVE_SERVERS, BceAccount, LegacyRds, RawClient, TagAccount, retire_server,
                     spawn_server)


@pytest.fixture(scope="session")
def tagd_bin() -> str:
    path = os.environ.get("TAGD_BIN") or str(REPO / "target" / "debug" / "tagd")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"tagd binary not found at {path!r}: build it and set TAGD_BIN", pytrace=False)
    return path


@pytest.fixture(scope="module")
def server(tagd_bin, tmp_path_factory):
    """One server per test module; tests keep apart by using fresh resource ids."""
    s = spawn_server(tagd_bin, tmp_path_factory)
    yield s
    retire_server(s)


@pytest.fixture
def fresh_server(tagd_bin, tmp_path_factory):
    """A server of the test's own (for restarts and kills)."""
    s = spawn_server(tagd_bin, tmp_path_factory)
    yield s
    retire_server(s)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in _LIVE_SERVERS:
            rep.sections.append((f"tagd logs ({s.workdir.name})", s.logs()))


# --------------------------------------------------------------------------------------------
# Small fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def raw(server) -> RawClient:
    return server.raw()


@pytest.fixture
def legacy(server) -> LegacyRds:
    return server.legacy()


@pytest.fixture
def tag_account(server) -> TagAccount:
    """A fresh account on the module's server: Tag-service tests read exact, unfiltered listings in it."""
    return TagAccount(server)


@pytest.fixture
def bce_account(server) -> BceAccount:
    """A fresh account on the module's server for the Baidu dialect (its own catalogue and bindings)."""
    return BceAccount(server)
