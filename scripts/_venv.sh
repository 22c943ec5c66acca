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
