#!/usr/bin/env bash
# Build the wheel, install it WITHOUT extras in a fresh virtualenv and run the text commands
# there: a bare `pip install aigc-label` must give a working `aigclabel label|verify|demo`.
#
#   bash scripts/test-wheel.sh [PYTHON]     (default: python3; any Python >= 3.11 with venv and pip)
#
# Prints one line per check and "N passed, 0 failed" at the end; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" . 2> >(grep -v "is ignored: it is neither" >&2)
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$work"/dist/*.whl 2> >(grep -v "is ignored: it is neither" >&2)
bin="$work/venv/bin"
passed=0

check() {  # check NAME EXPECTED_EXIT COMMAND...: run COMMAND, compare its exit code
    local name="$1" expected="$2"
    shift 2
    local code=0
    "$@" >"$work/out" 2>"$work/err" || code=$?
    if [[ "$code" != "$expected" ]]; then
        echo "FAILED $name: exit $code, expected $expected" >&2
        cat "$work/out" "$work/err" >&2
        echo "$passed passed, 1 failed"
        exit 1
    fi
    if grep -q Traceback "$work/err"; then
        echo "FAILED $name: a traceback on stderr" >&2
        cat "$work/err" >&2
        echo "$passed passed, 1 failed"
        exit 1
    fi
    passed=$((passed + 1))
    echo "ok   $name (exit $code)"
}

contains() {  # contains NAME FILE TEXT: the last command's FILE (out or err) holds TEXT
    if ! grep -qF -- "$3" "$work/$2"; then
        echo "FAILED $1: '$3' not in $2" >&2
        cat "$work/$2" >&2
        echo "$passed passed, 1 failed"
        exit 1
    fi
    passed=$((passed + 1))
    echo "ok   $1"
}

# No optional package came with the bare install.
check "no optional package installed" 0 "$bin/python" -c '
import importlib.util, sys
optional = ["anthropic", "defusedxml", "docx", "fpdf", "httpx2", "langchain_core", "lxml",
            "markdown_it", "openai", "pikepdf", "psycopg", "pypdf", "sqlalchemy", "tqdm", "yaml"]
found = [m for m in optional if importlib.util.find_spec(m) is not None]
sys.exit(f"installed without being asked for: {found}" if found else 0)'

export AIGCLABEL_KEY="$("$bin/python" -c 'import secrets; print(secrets.token_hex(32))')"
producer=001191110102MAD55U9H0F10002
printf '杭州是浙江省的省会，以西湖闻名。春秋两季气候宜人，适合游览。\n' >"$work/answer.txt"

check "aigclabel label" 0 "$bin/aigclabel" label "$work/answer.txt" --producer "$producer"
cp "$work/out" "$work/labeled.txt"
check "aigclabel verify (labeled)" 0 "$bin/aigclabel" verify "$work/labeled.txt"
contains "verify finds the label intact" out "status: intact"
check "aigclabel verify (no label)" 1 "$bin/aigclabel" verify "$work/answer.txt"
sed 's/西湖/东湖/' "$work/labeled.txt" >"$work/edited.txt"
check "aigclabel verify (edited)" 2 "$bin/aigclabel" verify "$work/edited.txt"
check "aigclabel verify --key-file /missing" 3 "$bin/aigclabel" verify "$work/labeled.txt" \
    --key-file "$work/missing.key"
contains "a missing key file is one line" err "aigclabel: error: key: cannot read key file"
check "aigclabel export --to docx (no extra)" 3 "$bin/aigclabel" export "$work/answer.txt" \
    --to docx -o "$work/out.docx" --producer "$producer"
contains "the docx export names its extra" err "pip install 'aigc-label[docx]'"
check "aigclabel export --to txt" 0 "$bin/aigclabel" export "$work/answer.txt" \
    --to txt -o "$work/out.txt" --producer "$producer"
check "aigclabel verify (exported txt)" 0 "$bin/aigclabel" verify "$work/out.txt"
check "aigclabel demo" 0 env -u OPENAI_API_KEY -u OPENAI_BASE_URL "$bin/aigclabel" demo
contains "the demo names the openai extra" out "pip install 'aigc-label[openai]'"
contains "the demo streams through a wrapped httpx.Client" out "a wrapped httpx.Client streaming"
check "import aigclabel.middleware" 0 "$bin/python" -c "import aigclabel.middleware"
echo "wheel: $passed passed, 0 failed"
