#!/usr/bin/env bash
# tagd's test command (README "Run the tests"; .ci/run calls it). On a fresh machine it:
#   1. builds tagd and runs every Rust test (unit, property, store conformance on the embedded
#      engine and on PostgreSQL) with nextest;
#   2. creates .venv with the vendors' SDKs pinned in tests/sdk/requirements.txt;
#   3. runs the end-to-end suite twice: real SDKs against a real `tagd serve` process, on the
#      embedded store, then on PostgreSQL (a schema per server, dropped after it).
# PostgreSQL: TAGD_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test.
# TAGD_TEST_ENGINE=embedded|postgres runs the end-to-end suite on that engine only.
# Extra arguments go to pytest (e.g. `scripts/test.sh -k legacy`).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
echo "==> cargo build (tagd binary)"
cargo build --locked --bin tagd

echo "==> Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --all-features --locked --no-fail-fast
else
    cargo test --workspace --all-features --locked --no-fail-fast
fi

echo "==> Python SDK environment (.venv)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt

if ! command -v psql >/dev/null 2>&1; then  # the harness makes and drops its schemas with psql
    echo "==> installing postgresql-client (psql)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y -q postgresql-client >/dev/null
fi

unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
export NO_PROXY=127.0.0.1,localhost
engines="${TAGD_TEST_ENGINE:-embedded postgres}"
for engine in $engines; do
    echo "==> end-to-end tests on the $engine engine (real SDKs, real tagd process)"
    TAGD_TEST_ENGINE="$engine" TAGD_BIN="$PWD/target/debug/tagd" \
        .venv/bin/python -m pytest tests/sdk -q -p no:cacheprovider "$@"
done
