#!/usr/bin/env bash
# Aim beside its peers in one sitting, every figure a ratio against a baseline or a peer measured in the same run, and
# benchmarks/README.md's generated section rewritten from the run (benchmarks/compare_report.py).
#
#   bash benchmarks/compare.sh [--aip DIR] [--baseline DIR] [--max-load L] [--max-busy PCT] [--wait MIN] [--rounds N]
#                              [--seconds S] [--job short|medium] [--suites 'F1 F2 ...'] [--server] [--no-readme]
#
# Peers, on the same tokens (Aim mints them: Aim.Benchmarks --peers-fixture):
#   - compact token verify: Aim (parse, strict header, claims, V1-V7) beside one raw libsodium verify of the same bytes
#     (P/Invoke into the libsodium NSec ships), jose's jwtVerify (npm, Node) beside Node's own raw Ed25519 verify, and the
#     AIP reference's Python verifier (aip_token.CompactToken.verify) beside a raw verify in Python's cryptography, when
#     --aip names the reference's python/ folder (a checkout of github.com/sunilp/aip; its Debian deps:
#     python3-jwt python3-pydantic python3-cryptography python3-base58);
#   - Biscuit 3-block verify + authorize: Aim beside @biscuit-auth/biscuit-wasm 0.6.0 with the same authorizer code.
# The peers run in --rounds interleaved rounds (Aim, Node, Python, Aim, ...) with one timing method (PeerComparison.cs);
# each figure is the median of its rounds. Then the embedded call path per call (Aim.Benchmarks --call-path: caller-thread
# allocations, paced and back to back), the BenchmarkDotNet suites with the targets (--job, --suites), and with --server
# the server load tests (SQLite, 8 clients: step 1 only, then all five steps).
# --baseline DIR names a checkout of an earlier commit already built (benchmarks/Aim.Benchmarks with CallPathProbe.cs and
# its Program.cs hook copied in, tests/Aim.Server.Tests, benchmarks/Aim.Gateway.Load): the call path, the step-1 server
# load and the gateway load then run on it and on this tree, interleaved, in the same sitting (issue 14's "side by side
# with the previous commit").
#
# Refuses to measure when the machine is busy. Before measuring starts, the 1-minute load average must be at most
# --max-load (default 1.5, or AIM_COMPARE_MAX_LOAD); before every part, the CPU time other processes use over 3 s must be
# at most --max-busy percent of the machine (default 15; our own parts raise the load average, so that part of the gate
# reads /proc/stat while we are idle). It waits up to --wait minutes (default 0) for a quiet machine, then refuses. Raising
# a bar is the only way to report from a busy machine, and the report then says which bars it used.
set -euo pipefail
cd "$(dirname "$0")/.."

original_args=("$@")
aip=""
baseline=""
max_load="${AIM_COMPARE_MAX_LOAD:-1.5}"
max_busy="${AIM_COMPARE_MAX_BUSY:-15}"
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
    --baseline) baseline="$(cd "$2" && pwd)"; shift 2 ;;
    --max-busy) max_busy="$2"; shift 2 ;;
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
# Percent of both cores busy over 3 s (we are idle meanwhile): the other engineers' work, whatever the load average says.
busy() {
  local a b
  a=$(awk '/^cpu / { print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat); sleep 3
  b=$(awk '/^cpu / { print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", ((d > 0) ? 100 * (y[1] - x[1]) / d : 0) }'
}
# Waits (up to the deadline) until other processes leave the cores alone; records the figure for the part that follows.
gate() {
  local part="$1" pct
  while :; do
    pct=$(busy)
    if [ "$pct" -le "$max_busy" ]; then
      echo "$part: busy ${pct}% load $(load)" >> "$out/gates.txt"
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "compare: other processes keep ${pct}% of the CPU busy before '$part' (bar ${max_busy}%, load $(load)): refusing to report." >&2
      exit 2
    fi
    echo "compare: ${pct}% of the CPU busy before '$part' (bar ${max_busy}%); waiting..."
    sleep 10
  done
}

out="artifacts/compare/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "compare: results in $out"

# Build first (building loads the machine; the bar applies to the measurements).
dotnet build benchmarks/Aim.Benchmarks -c Release -nologo -clp:ErrorsOnly
bench="dotnet benchmarks/Aim.Benchmarks/bin/Release/net10.0/Aim.Benchmarks.dll"
if [ ! -d benchmarks/peers/node_modules ]; then
  (cd benchmarks/peers && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$server" = 1 ] || [ -n "$baseline" ]; then
  dotnet build tests/Aim.Server.Tests -c Release -nologo -clp:ErrorsOnly
fi
if [ -n "$baseline" ]; then
  dotnet build benchmarks/Aim.Gateway.Load -c Release -nologo -clp:ErrorsOnly
  for f in benchmarks/Aim.Benchmarks/bin/Release/net10.0/Aim.Benchmarks.dll tests/Aim.Server.Tests/bin/Release/net10.0/Aim.Server.Tests.dll \
           benchmarks/Aim.Gateway.Load/bin/Release/net10.0/Aim.Gateway.Load.dll; do
    [ -f "$baseline/$f" ] || { echo "compare: --baseline $baseline has no $f (build it first)" >&2; exit 64; }
  done
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
  echo "max_busy=$max_busy"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks tests ':!benchmarks/README.md' || echo '+uncommitted')"
  if [ -n "$aip" ]; then echo "aip=$(cat "$aip/../.commit" 2>/dev/null || git -C "$aip" rev-parse --short HEAD 2>/dev/null || echo "$aip")"; fi
  if [ -n "$baseline" ]; then echo "baseline=$(git -C "$baseline" rev-parse --short HEAD 2>/dev/null || cat "$baseline/.commit" 2>/dev/null || echo "$baseline")"; fi
} > "$out/run.env"
echo "load_start=$(load)" >> "$out/run.env"

$bench --peers-fixture "$out/fixture.json"
for r in $(seq 1 "$rounds"); do
  gate "peers round $r"
  echo "compare: peers, round $r of $rounds (load $(load))"
  $bench --peers-measure "$out/fixture.json" "$seconds" > "$out/aim-$r.json"
  node --experimental-wasm-modules --no-warnings benchmarks/peers/peers.mjs "$out/fixture.json" "$seconds" > "$out/node-$r.json"
  if [ -n "$aip" ]; then
    /usr/bin/python3 benchmarks/peers/aip_reference.py --aip "$aip" "$out/fixture.json" "$seconds" > "$out/python-$r.json"
  fi
  echo "round $r: $(load)" >> "$out/loads.txt"
done

# The embedded call path per call; with --baseline, the earlier commit's build right after, on the same probe.
for r in $(seq 1 "$rounds"); do
  gate "call path round $r"
  $bench --call-path 2 > "$out/callpath-$r.json"
  if [ -n "$baseline" ]; then
    dotnet "$baseline/benchmarks/Aim.Benchmarks/bin/Release/net10.0/Aim.Benchmarks.dll" --call-path 2 > "$out/callpath-base-$r.json"
  fi
  echo "call path $r: $(load)" >> "$out/loads.txt"
done

if [ -n "$suites" ]; then
  gate "BenchmarkDotNet"
  echo "compare: BenchmarkDotNet ($job job): $suites (load $(load))"
  # shellcheck disable=SC2086
  $bench --job "$job" --inProcess --exporters json --artifacts "$out/bdn" --filter $suites | tee "$out/bdn.log" | grep -E '^\||// \*\*\*\*\* BenchmarkRunner: (Start|End)' || true
  echo "bdn: $(load)" >> "$out/loads.txt"
fi

server_load() { # TREE TEST-NAME OUTPUT
  (cd "$1" && AIM_LOAD_CLIENTS=8 AIM_LOAD_REQUESTS=20000 dotnet test tests/Aim.Server.Tests -c Release --no-build -nologo \
    --filter "FullyQualifiedName~$2" --logger "console;verbosity=detailed" 2>&1) | grep -E "signed verifications" | head -1 > "$3" || true
}
if [ "$server" = 1 ] || [ -n "$baseline" ]; then
  for r in $(seq 1 "$rounds"); do
    gate "server round $r"
    echo "compare: server load, SQLite, 8 clients, round $r (load $(load))"
    server_load . Bounded_load_of_signed_verifications "$out/server-step1-$r.txt"
    if [ -n "$baseline" ]; then
      server_load "$baseline" Bounded_load_of_signed_verifications "$out/server-step1-base-$r.txt"
    fi
    server_load . Bounded_load_with_all_five_steps "$out/server-all-$r.txt"
    echo "server $r: $(load)" >> "$out/loads.txt"
  done
fi

if [ -n "$baseline" ]; then
  for r in $(seq 1 "$rounds"); do
    gate "gateway round $r"
    echo "compare: gateway load, round $r (load $(load))"
    dotnet benchmarks/Aim.Gateway.Load/bin/Release/net10.0/Aim.Gateway.Load.dll --requests 5000 --warmup 1000 > "$out/gateway-$r.txt" 2>&1 || true
    dotnet "$baseline/benchmarks/Aim.Gateway.Load/bin/Release/net10.0/Aim.Gateway.Load.dll" --requests 5000 --warmup 1000 > "$out/gateway-base-$r.txt" 2>&1 || true
    echo "gateway $r: $(load)" >> "$out/loads.txt"
  done
fi

echo "load_end=$(load)" >> "$out/run.env"
echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$out/run.env"

args=("$out")
if [ "$readme" = 1 ]; then
  args+=(--readme benchmarks/README.md)
fi
/usr/bin/python3 benchmarks/compare_report.py "${args[@]}"
