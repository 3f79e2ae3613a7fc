#!/usr/bin/env bash
# The AIM wire-compatibility acceptance session (not run by CI): AIM's unmodified Python SDK against this server on
# 127.0.0.1, through the recording proxy, with an operator approving the JIT action from the aim CLI while the SDK polls.
#   bash run_aim_sdk_session.sh <agent-identity-management checkout> <work dir> [recording.jsonl]
# Needs Debian's python3-nacl and python3-requests (the SDK's imports) and Release builds of Aim.Server and Aim.Cli.
set -euo pipefail
AIM_REPO=$1 WORK=$2 OUT=${3:-$2/aim-python-sdk.jsonl}
HERE=$(cd "$(dirname "$0")" && pwd) ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PY=/usr/bin/python3
SERVER_PORT=${SERVER_PORT:-18080} PROXY_PORT=${PROXY_PORT:-18081}
rm -rf "$WORK" && mkdir -p "$WORK/home" "$WORK/sdk"
git -C "$AIM_REPO" archive HEAD sdks/python 2>/dev/null | tar -x -C "$WORK/sdk" || true
test -f "$WORK/sdk/sdks/python/aim_sdk/client.py"
rm -f "$OUT"
dotnet "$ROOT/src/Aim.Server/bin/Release/net10.0/Aim.Server.dll" --urls "http://127.0.0.1:$SERVER_PORT" --data "$WORK/data" > "$WORK/server.log" 2>&1 &
SERVER=$!
"$PY" "$HERE/record_aim_sdk.py" --listen "$PROXY_PORT" --target "http://127.0.0.1:$SERVER_PORT" --out "$OUT" &
PROXY=$!
trap 'kill $SERVER $PROXY 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$SERVER_PORT/health" >/dev/null && break; sleep 1; done
cd "$WORK"
aim() { echo "\$ aim $*" | sed "s#$WORK/##g" >&2; dotnet "$ROOT/src/Aim.Cli/bin/Release/net10.0/aim.dll" "$@" --server "http://127.0.0.1:$SERVER_PORT" --api-key-file data/admin.key; }
sdk() { echo "\$ python3 aim_sdk_session.py $1   # AIM's unmodified SDK, PYTHONPATH=agent-identity-management/sdks/python"; HOME="$WORK/home" PYTHONPATH="$WORK/sdk/sdks/python" "$PY" "$HERE/aim_sdk_session.py" "$1" "http://127.0.0.1:$PROXY_PORT" data/admin.key 2>&1 | grep -v '^🔍\|^{\|^POST\|^GET\|^/api\|^[0-9]'; }
echo "== with the switch off, the AIM routes answer 404 compat_disabled"
curl -s -X POST "http://127.0.0.1:$SERVER_PORT/api/v1/public/agents/register" -H "X-AIM-API-Key: $(cat data/admin.key)" -H 'Content-Type: application/json' -d '{"name":"x"}'; echo
aim orgs compat default on --server-keys
sdk register
aim agents list
aim agents grant billing-bot database:read payment:refund
(
  for _ in $(seq 1 60); do
    id=$(dotnet "$ROOT/src/Aim.Cli/bin/Release/net10.0/aim.dll" approvals list --json --server "http://127.0.0.1:$SERVER_PORT" --api-key-file data/admin.key | "$PY" -c 'import json,sys; a=json.load(sys.stdin); print(a[0]["id"] if a else "")')
    if [ -n "$id" ]; then echo "[operator, while the SDK polls]"; aim approvals list 2>&1; aim approvals approve "$id" --reason "refund checked with the customer" 2>&1; break; fi
    sleep 1
  done
) > "$WORK/approver.log" 2>&1 &
APPROVER=$!
sdk act
wait $APPROVER
cat "$WORK/approver.log"
aim audit query --agent billing-bot
aim audit tree-head > saved-head.json
aim audit verify --tree-head saved-head.json
echo "recorded $(wc -l < "$OUT") exchanges in $OUT"
