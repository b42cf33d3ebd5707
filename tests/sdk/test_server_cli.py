"""The admin commands (`tagd account|key|resource`) as an operator types them: against a running server and on a
stopped one, with their error messages and exit codes for bad input."""

import subprocess

import pytest

from harness import _clean_env


def run_cli(tagd_bin, *args) -> subprocess.CompletedProcess:
    return subprocess.run([tagd_bin, *args], capture_output=True, text=True, timeout=60, env=_clean_env(),
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args, message", [
    (("key", "create", "a b"), "no account a b"),
    (("key", "create", "../../x"), "no account ../../x"),
    (("key", "list", "x/y"), "no account x/y"),
    (("key", "list", ".."), "no account .."),
    (("key", "list", "a?b#c"), "no account a?b#c"),
    (("key", "disable", "x/y"), "no access key x/y"),
    (("key", "disable", "k%2Fz"), "no access key k%2Fz"),
])
def test_names_with_url_characters_reach_the_running_server_as_typed(server, args, message):
    # The remote path put the name into the admin API's URL as it was: a space was "invalid uri character", and
    # "/", "?" or "../" sent the call elsewhere ("not found").
    p = server.cli(*args, "--endpoint", server.base_url, check=False)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stderr.startswith(f"tagd: {message} (HTTP 404"), p.stderr
    assert "panicked" not in p.stderr


@pytest.mark.parametrize("args", [("account", "create", "bob"), ("account", "list"), ("key", "list", "1")])
def test_a_missing_data_dir_is_an_error_not_a_new_store(tagd_bin, tmp_path, args):
    # A mistyped --data-dir (or the default ./tagd-data from another directory) used to create a new, empty
    # store there: `account create` printed a key that the real server had never heard of.
    missing = tmp_path / "no-such-dir" / "data"
    p = run_cli(tagd_bin, *args, "--data-dir", str(missing))
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stdout == ""
    assert p.stderr.startswith("tagd: ") and str(missing) in p.stderr, p.stderr
    assert "panicked" not in p.stderr
    assert not (tmp_path / "no-such-dir").exists(), "the command created the missing data directory"


def test_admin_commands_on_a_stopped_server_use_its_store(tagd_bin, tmp_path_factory):
    from harness import retire_server, spawn_server
    srv = spawn_server(tagd_bin, tmp_path_factory)
    try:
        srv.stop()
        made = srv.create_account("offline")  # no server: the store is opened directly
        listed = {a["account_id"]: a["name"] for a in srv.cli_json("account", "list", "--json")}
        assert listed[made["account_id"]] == "offline"
        srv.start()
        assert srv.raw(made["access_key_id"], made["access_key_secret"]).rows(ids=["rm-none"]) == []
    finally:
        retire_server(srv)


def test_an_invalid_log_filter_is_reported(tagd_bin, tmp_path_factory):
    # An unparsable --log used to be replaced by "info" without a word: the operator's directives were lost silently.
    from harness import retire_server, spawn_server
    srv = spawn_server(tagd_bin, tmp_path_factory, "--log", "tagd=debug,[bad")
    try:
        srv.stop()
        assert "tagd: invalid --log filter \"tagd=debug,[bad\"" in srv.stderr_path.read_text(), srv.logs()
    finally:
        retire_server(srv)
