#!/usr/bin/env bash
# Runs samples/QuickStart: an agent on the embedded engine (no server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec dotnet run --project samples/QuickStart -c Release -- "$@"
