#!/usr/bin/env bash
# The core issue's quick benchmark, in one run on this machine:
#   W1  signed V1 RDS TagResources (1 resource x 5 tags), 64 keep-alive connections, durable
#   the same load generator against the unsigned /healthz (the HTTP ceiling)
# and the ratio between them. Server and load generator share the machine (loopback only).
# Usage: bench/quick.sh [seconds per run, default 10]. Results: bench/results/quick-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
KEY_ID=LTAIbenchquick00000000000
SECRET=benchquicksecret000000000000000
PORT=18480
OUT=bench/results
mkdir -p "$OUT"
cargo build --release --locked -p tagd -p tagd-bench >&2
BIN="${CARGO_TARGET_DIR:-target}/release"
DATA=$(mktemp -d)
trap 'kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
TAGD_ACCESS_KEY_ID=$KEY_ID TAGD_ACCESS_KEY_SECRET=$SECRET \
    "$BIN/tagd" serve --listen 127.0.0.1:$PORT --data-dir "$DATA" --ready-file "$DATA/ready.json" \
    2>"$DATA/server.log" &
SERVER=$!
for _ in $(seq 100); do [ -s "$DATA/ready.json" ] && break; sleep 0.1; done
run() {
    TAGD_ACCESS_KEY_ID=$KEY_ID TAGD_ACCESS_KEY_SECRET=$SECRET "$BIN/tagd-bench" \
        --endpoint 127.0.0.1:$PORT --connections 64 --duration "${SECS}s" --warmup 2s \
        --server-pid "$SERVER" --workload "$1" --json-out "$OUT/quick-$1.json"
}
run healthz
run tag
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
h = json.load(open(f"{out}/quick-healthz.json"))
t = json.load(open(f"{out}/quick-tag.json"))
def rate(r):
    return r["summary"]["throughput_rps"] if "summary" in r else r["throughput_rps"]
hr, tr = rate(h), rate(t)
print(f"W1 TagResources: {tr:,.0f} durable calls/s; /healthz: {hr:,.0f} req/s; ratio {tr / hr:.1%}")
PY
