#!/usr/bin/env bash
# Checks for the Java runtime the Spark engine needs (17 or newer) and, as root with
# apt-get, installs Debian's openjdk-17-jre-headless when it is missing or too old.
# Prints the java found; exits 1 when none can be had. Idempotent.
#
#   scripts/java.sh            # check, install if needed
#   scripts/java.sh --check    # check only
set -euo pipefail

need=17

version() {
    # `java -version` prints e.g. 'openjdk version "17.0.15" 2025-04-15' (or "1.8.0_392").
    "$1" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}' | awk -F. '{print ($1 == 1) ? $2 : $1}'
}

java_bin=""
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java_bin="$JAVA_HOME/bin/java"
elif command -v java >/dev/null 2>&1; then
    java_bin=$(command -v java)
fi

if [ -n "$java_bin" ] && [ "$(version "$java_bin")" -ge "$need" ] 2>/dev/null; then
    echo "java: $java_bin ($(version "$java_bin"))"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "java: no Java $need or newer found (scripts/java.sh installs one)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "java: Java $need or newer is needed for --engine spark; install openjdk-17-jre-headless" >&2
    exit 1
fi
echo "java: installing openjdk-17-jre-headless" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
java_bin=$(command -v java)
echo "java: $java_bin ($(version "$java_bin"))"
