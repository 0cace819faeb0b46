#!/usr/bin/env bash
# A Java runtime for Spark local mode (the engine tests, tests/adapters/engines/test_spark.py):
# PySpark 4 needs Java 17 or newer. Idempotent; installs Debian's openjdk-17-jre-headless when
# no java is on PATH (needs root). Prints the JAVA_HOME to export, e.g.
#   export JAVA_HOME="$(bash scripts/test-jdk.sh)"
set -euo pipefail
if ! command -v java >/dev/null 2>&1; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends openjdk-17-jre-headless >&2
fi
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME"
else
    dirname "$(dirname "$(readlink -f "$(command -v java)")")"
fi
