#!/usr/bin/env bash
# axe-core, the accessibility engine the portal's a11y tests inject into Chromium pages.
#
#   scripts/axe.sh        installs axe-core (pinned below) with npm into build/axe/ when
#                         build/axe/node_modules/axe-core/axe.min.js is missing, then
#                         prints the path of axe.min.js
#
# npm and node are Debian's packages (installed with apt-get when missing, as root); npm
# fetches the package from the npm registry like pip fetches from PyPI. Without npm and
# without root it says so and exits 1: the a11y tests then skip on a developer's machine
# and fail under CI=true.
set -euo pipefail

VERSION=4.10.3
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/build/axe"
AXE="$DEST/node_modules/axe-core/axe.min.js"

say() { echo "axe.sh: $*" >&2; }

if [ -f "$AXE" ] && grep -q "axe v$VERSION" "$AXE"; then
    echo "$AXE"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "npm is missing; install Debian's npm package (as root: apt-get install npm)"
        exit 1
    fi
    say "installing nodejs and npm"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        nodejs npm >&2
fi
mkdir -p "$DEST"
say "installing axe-core@$VERSION into $DEST"
npm install --prefix "$DEST" --no-audit --no-fund --no-save --silent "axe-core@$VERSION" >&2
test -f "$AXE"
echo "$AXE"
