#!/usr/bin/env bash
# Installs what the tests need, builds everything with warnings as errors and runs every test project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh chromium poppler-utils fonts-dejavu-core curl

# A throwaway PostgreSQL on 127.0.0.1 for the server's integration tests (installed with apt when missing).
pg_env=$(bash scripts/postgres.sh)
eval "$pg_env"
trap 'bash scripts/postgres.sh stop "${AIM_TEST_POSTGRES_DIR:-}" >/dev/null 2>&1 || true' EXIT

results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build Aim.Sdk.sln -c Release -nologo -clp:ErrorsOnly
status=0
dotnet test Aim.Sdk.sln -c Release --no-build -nologo --logger "console;verbosity=minimal" --results-directory "$results" 2>&1 \
  | tee "$results/test-output.log" || status=$?

# Package acceptance: pack the solution into a folder; fresh console, ASP.NET Core and MCP apps use only those packages;
# the aim, aim-server and aim-gateway tools install from it and run. The solution was just built: pack without building.
if ! AIM_PACKAGE_TEST_BUILT=1 bash tests/Aim.Sdk.PackageTests/run.sh 2>&1 | tee "$results/package-test.log"; then
  status=1
fi

# One plain closing line over every test assembly (each prints "Passed!/Failed!  - Failed: F, Passed: P, Skipped: S, ...").
read -r passed failed skipped assemblies < <(awk '
  /(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+/ {
    gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
    n++
  }
  /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3; n++ }
  END { print p + 0, f + 0, s + 0, n + 0 }' "$results/test-output.log" "$results/package-test.log")
if [ "$passed" -eq 0 ]; then
  echo "no tests ran" >&2
  status=1
fi
# The failures again, last, so a reader of the log's tail sees which test failed and why without scrolling.
if [ "$status" -ne 0 ]; then
  echo "== failures"
  awk '/^ +Failed [A-Za-z_]/ { show = 14 } /^ +Stack Trace:/ { show = 0 } show > 0 { print; show-- }' "$results/test-output.log" | head -120
  grep -E '^(FAIL|not ok) ' "$results/package-test.log" | head -40 || true
fi
echo "test assemblies: $assemblies"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
