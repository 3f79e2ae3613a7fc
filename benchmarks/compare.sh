#!/usr/bin/env bash
# Aim beside its peers in one sitting, every figure a ratio against a baseline or a peer measured in the same run, and
# benchmarks/README.md's generated section rewritten from the run (benchmarks/compare_report.py).
#
#   bash benchmarks/compare.sh [--aip DIR] [--max-load L] [--wait MIN] [--rounds N] [--seconds S] [--job short|medium]
#                              [--suites 'F1 F2 ...'] [--server] [--no-readme]
#
# Peers, on the same tokens (Aim mints them: Aim.Benchmarks --peers-fixture):
#   - compact token verify: Aim (parse, strict header, claims, V1-V7) beside one raw libsodium verify of the same bytes
#     (P/Invoke into the libsodium NSec ships), jose's jwtVerify (npm, Node) beside Node's own raw Ed25519 verify, and the
#     AIP reference's Python verifier (aip_token.CompactToken.verify) beside a raw verify in Python's cryptography, when
#     --aip names the reference's python/ folder (a checkout of github.com/sunilp/aip; its Debian deps:
#     python3-jwt python3-pydantic python3-cryptography python3-base58);
#   - Biscuit 3-block verify + authorize: Aim beside @biscuit-auth/biscuit-wasm 0.6.0 with the same authorizer code.
# The peers run in --rounds interleaved rounds (Aim, Node, Python, Aim, ...) with one timing method (PeerComparison.cs);
# each figure is the median of its rounds. Then the BenchmarkDotNet suites with the targets run (--job, --suites), and
# with --server the server load test (all five steps, SQLite, 8 clients).
#
# Refuses to measure when the machine is busy: the 1-minute load average must be at most --max-load (default 1.5, or
# AIM_COMPARE_MAX_LOAD) when measuring starts, waiting up to --wait minutes (default 0) for it. A run whose load rose
# above the bar meanwhile is reported as loaded. Raising --max-load is the only way to report from a busy machine, and
# the report then says which bar it used.
set -euo pipefail
cd "$(dirname "$0")/.."

original_args=("$@")
aip=""
max_load="${AIM_COMPARE_MAX_LOAD:-1.5}"
wait_minutes=0
rounds=3
seconds=0.25
job=short
suites="*Ed25519Benchmarks* *TokenBenchmarks* *BiscuitBenchmarks* *CallPathBenchmarks* *AuditBenchmarks*"
server=0
readme=1
while [ $# -gt 0 ]; do
  case "$1" in
    --aip) aip="$2"; shift 2 ;;
    --max-load) max_load="$2"; shift 2 ;;
    --wait) wait_minutes="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --job) job="$2"; shift 2 ;;
    --suites) suites="$2"; shift 2 ;;
    --server) server=1; shift ;;
    --no-readme) readme=0; shift ;;
    *) echo "unknown option: $1" >&2; exit 64 ;;
  esac
done

load() { cut -d' ' -f1-3 /proc/loadavg; }
load1() { cut -d' ' -f1 /proc/loadavg; }
quiet() { awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l <= m) }'; }

out="artifacts/compare/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "compare: results in $out"

# Build first (building loads the machine; the bar applies to the measurements).
dotnet build benchmarks/Aim.Benchmarks -c Release -nologo -clp:ErrorsOnly
bench="dotnet benchmarks/Aim.Benchmarks/bin/Release/net10.0/Aim.Benchmarks.dll"
if [ ! -d benchmarks/peers/node_modules ]; then
  (cd benchmarks/peers && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$server" = 1 ]; then
  dotnet build tests/Aim.Server.Tests -c Release -nologo -clp:ErrorsOnly
fi

deadline=$(( $(date +%s) + wait_minutes * 60 ))
until quiet; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "compare: the machine is busy (load average $(load), bar $max_load): refusing to measure or report." >&2
    echo "         Wait for a quiet machine (--wait MIN), or raise the bar with --max-load (the report then says so)." >&2
    exit 2
  fi
  echo "compare: load average $(load) is above $max_load; waiting..."
  sleep 15
done

{
  echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "max_load=$max_load"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
  echo "dotnet=$(dotnet --version)"
  echo "node=$(node --version)"
  echo "command=bash benchmarks/compare.sh ${original_args[*]:-}"
} > "$out/run.env"
echo "load_start=$(load)" >> "$out/run.env"

$bench --peers-fixture "$out/fixture.json"
for r in $(seq 1 "$rounds"); do
  echo "compare: peers, round $r of $rounds (load $(load))"
  $bench --peers-measure "$out/fixture.json" "$seconds" > "$out/aim-$r.json"
  node --experimental-wasm-modules --no-warnings benchmarks/peers/peers.mjs "$out/fixture.json" "$seconds" > "$out/node-$r.json"
  if [ -n "$aip" ]; then
    /usr/bin/python3 benchmarks/peers/aip_reference.py --aip "$aip" "$out/fixture.json" "$seconds" > "$out/python-$r.json"
  fi
  echo "round $r: $(load)" >> "$out/loads.txt"
done

if [ -n "$suites" ]; then
  echo "compare: BenchmarkDotNet ($job job): $suites (load $(load))"
  # shellcheck disable=SC2086
  $bench --job "$job" --inProcess --exporters json --artifacts "$out/bdn" --filter $suites | tee "$out/bdn.log" | grep -E '^\||// \*\*\*\*\* BenchmarkRunner: (Start|End)' || true
  echo "bdn: $(load)" >> "$out/loads.txt"
fi

if [ "$server" = 1 ]; then
  echo "compare: server load, all five steps, SQLite, 8 clients (load $(load))"
  AIM_LOAD_CLIENTS=8 AIM_LOAD_REQUESTS=20000 dotnet test tests/Aim.Server.Tests -c Release --no-build -nologo \
    --filter "FullyQualifiedName~Bounded_load_with_all_five_steps" --logger "console;verbosity=detailed" 2>&1 \
    | grep -E "signed verifications" | head -1 > "$out/server.txt" || true
  echo "server: $(load)" >> "$out/loads.txt"
fi

echo "load_end=$(load)" >> "$out/run.env"
echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$out/run.env"

args=("$out")
if [ "$readme" = 1 ]; then
  args+=(--readme benchmarks/README.md)
fi
/usr/bin/python3 benchmarks/compare_report.py "${args[@]}"
