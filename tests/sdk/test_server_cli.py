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
    p = server.cli(*args, check=False)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stderr.startswith(f"tagd: {message} (HTTP 404"), p.stderr
    assert "panicked" not in p.stderr
