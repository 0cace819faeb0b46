#!/usr/bin/env bash
# A browser for the real-browser tests of the chat page (tests/browser/, Playwright driving
# Debian's chromium: `playwright install` is not used). Idempotent; installs Debian's chromium
# package when no `chromium` is on PATH (needs root). Prints nothing on success; on failure
# prints the apt log and exits non-zero.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "scripts/test-browser.sh: could not install chromium (apt-get install -y chromium)" >&2
    exit 1
fi
if ! command -v chromium >/dev/null 2>&1; then
    echo "scripts/test-browser.sh: chromium is still not on PATH after installing it" >&2
    exit 1
fi
