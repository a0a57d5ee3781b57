#!/usr/bin/env bash
# The OpenID provider of the sign-in tests: panva's oidc-provider (OpenID Certified), from
# the npm registry at the version tests/oidc_provider/package-lock.json pins, run by Node.js.
#
#   scripts/oidc-provider.sh   installs Debian's nodejs and npm with apt-get when `node` or
#                              `npm` is missing (as root), then `npm ci` in
#                              tests/oidc_provider/ when its node_modules is missing or older
#                              than the lock file; prints the versions
#
# oidc-provider 9 needs Node.js 20.19 or later (Debian 13's nodejs). Without root and
# without a fitting Node it says so and exits 1; the sign-in tests then skip on a
# developer's machine and fail under CI=true.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
FOLDER="$HERE/tests/oidc_provider"

say() { echo "oidc-provider.sh: $*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "node and npm are missing; install Debian's nodejs and npm packages"
        exit 1
    fi
    say "installing nodejs and npm"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        nodejs npm >&2
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    say "Node.js $(node --version) is too old for oidc-provider 9 (20.19 or later is needed)"
    exit 1
fi

stamp="$FOLDER/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$FOLDER/package-lock.json" -nt "$stamp" ]; then
    say "installing oidc-provider (npm ci)"
    (cd "$FOLDER" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
say "node $(node --version), oidc-provider $(node -p "require('$FOLDER/node_modules/oidc-provider/package.json').version")"
