#!/usr/bin/env bash
# Debian's headless Chromium for the portal's browser tests (Playwright drives it through
# executable_path=/usr/bin/chromium; `playwright install` is never run).
#
#   scripts/chromium.sh        installs the `chromium` package with apt-get when
#                              /usr/bin/chromium is missing (as root), then prints its version
#
# Without root and without chromium it says so and exits 1; the browser tests then skip on
# a developer's machine and fail under CI=true.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

say() { echo "chromium.sh: $*" >&2; }

if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" != 0 ]; then
        say "$CHROMIUM is missing; install Debian's chromium package (as root: apt-get install chromium)"
        exit 1
    fi
    say "installing chromium"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium fonts-dejavu-core >&2
fi
"$CHROMIUM" --version >&2
