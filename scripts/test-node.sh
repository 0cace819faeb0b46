#!/usr/bin/env bash
# The Node client test of the gateway (tests/adapters/gateway/node/) runs the `openai` npm package
# pinned in its package-lock.json. Idempotent: installs it with `npm ci` when it is missing (from the
# npm registry, or npm's cache). Prints nothing on success; on failure prints npm's log and exits
# non-zero. Needs Node.js >= 20 with npm on PATH.
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/adapters/gateway/node"
if [ -f "$dir/node_modules/openai/package.json" ]; then
    exit 0
fi
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "scripts/test-node.sh: \`$tool\` is not on PATH (the gateway's Node client test needs Node.js >= 20 with npm)" >&2
        exit 1
    fi
done
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! (cd "$dir" && timeout 300 npm ci --no-audit --no-fund) >"$log" 2>&1; then
    cat "$log" >&2
    echo "scripts/test-node.sh: npm ci in tests/adapters/gateway/node failed" >&2
    exit 1
fi
