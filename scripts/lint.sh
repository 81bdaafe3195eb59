#!/usr/bin/env bash
# Lint the tree: ruff check over everything, mypy --strict over the packages named in pyproject.toml [tool.mypy].
# Usage: scripts/lint.sh [--no-mypy]; exits non-zero when either finds a problem, after a per-file count of mypy errors.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
status=0
echo "== ruff check" >&2
"$venv/bin/ruff" check . || status=1
if [[ "${1:-}" != "--no-mypy" ]]; then
    echo "== mypy --strict (packages from pyproject.toml [tool.mypy])" >&2
    report=$(mktemp)
    "$venv/bin/mypy" --strict | tee "$report"
    mypy_status=${PIPESTATUS[0]}
    if ((mypy_status != 0)); then
        status=1
        echo "== mypy errors per file" >&2
        grep -E '^[^:]+:[0-9]+: error:' "$report" | cut -d: -f1 | sort | uniq -c | sort -rn >&2
    fi
    rm -f "$report"
fi
exit $status
