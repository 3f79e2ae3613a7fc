#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a caller names (the tests ask for a browser, poppler and fonts) and checks for the
# .NET SDK. Aim itself needs no system package: Ed25519 comes from NSec.Cryptography, whose libsodium native library is
# restored from NuGet. Idempotent; uses sudo when not root.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done

if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (https://dot.net); dotnet was not found on PATH." >&2
  exit 2
fi
