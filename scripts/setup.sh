#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a caller names (the tests ask for a browser, poppler and fonts; postgres.sh for
# postgresql) and checks for the .NET SDK. Aim itself needs no system package: Ed25519 comes from NSec.Cryptography,
# whose libsodium native library is restored from NuGet. Idempotent; uses sudo when not root.
#
# Another apt or dpkg process (unattended-upgrades, a second test run) holds apt's locks for a while: apt-get waits for
# them up to AIM_APT_LOCK_WAIT seconds (default 300) and is retried until then, then gives up with a clear message.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
wait_seconds="${AIM_APT_LOCK_WAIT:-300}"

# apt_get <args...>: apt-get that waits (bounded) for the dpkg and lists locks instead of failing at once.
apt_get() {
  local deadline=$(( SECONDS + wait_seconds )) err
  err=$(mktemp)
  while true; do
    local left=$(( deadline - SECONDS )); [ "$left" -gt 0 ] || left=1
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$left" "$@" 2>"$err"; then
      rm -f "$err"; return 0
    fi
    if grep -qiE "could not get lock|unable to (acquire|lock)|is another process using it" "$err" && [ "$SECONDS" -lt "$deadline" ]; then
      echo "setup: apt is busy (another package manager holds its lock); waiting..." >&2
      sleep 5
      continue
    fi
    if grep -qiE "could not get lock|unable to (acquire|lock)|is another process using it" "$err"; then
      echo "setup: apt's lock was still held after ${wait_seconds}s (AIM_APT_LOCK_WAIT); try again when the other apt process ends." >&2
    fi
    cat "$err" >&2; rm -f "$err"; return 1
  done
}

need=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done

if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (https://dot.net); dotnet was not found on PATH." >&2
  exit 2
fi
