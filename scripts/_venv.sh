# Shared by scripts/run and scripts/test: make .venv and install cdr into it when missing or stale.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CDR_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
extras="${1:-}"
stamp="$VENV/.cdr-installed$extras"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT$extras"
  touch "$stamp"
fi

# The compiled modules (cdr/native.py): built when missing or built from other sources, where a C compiler
# and mypy are at hand; without them, or with CDR_COMPILE=0, cdr runs as plain Python.
if [ "${CDR_COMPILE:-1}" != "0" ] && command -v cc >/dev/null 2>&1 && [ -x "$VENV/bin/mypyc" ]; then
  if ! "$VENV/bin/python" -W ignore -c 'import sys, cdr.native as n; sys.exit(not n.up_to_date())'; then
    "$ROOT/scripts/compile" || {
      [ "${CDR_COMPILE_STRICT:-0}" = "1" ] && exit 1
      echo "cdr: compiling failed; running as plain Python" >&2
    }
  fi
fi
