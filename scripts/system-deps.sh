#!/usr/bin/env bash
# Installs the system programs the test suite uses, from Debian's packages, if missing:
# exiftool (XMP fixtures), Chromium (browser tests), Java 17 (Spark), PostgreSQL 15
# (registry tests; started by scripts/postgres.sh). Idempotent; one apt-get run at most.
# Without root or apt-get it says what is missing and carries on: the tests that need a
# program skip on a developer's machine and fail in CI (CI=true).
set -euo pipefail

missing=()
command -v exiftool >/dev/null 2>&1 || missing+=(libimage-exiftool-perl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${missing[*]} (install them with your package manager)" >&2
    exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
