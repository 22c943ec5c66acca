#!/usr/bin/env bash
# Run the EHRbase AQL conformance suites (../shared/tools/aql_conformance.py) against `cdr serve`.
#
#   scripts/aql_conformance.sh [sqlite|postgres] [runner args...]     e.g.  scripts/aql_conformance.sh sqlite --filter WHERE/
#
# Every suite gets an empty database: a new SQLite file in the runner's {dbdir}, or a new PostgreSQL database
# made by scripts/aql_conformance_pg.py on the server of CDR_CONFORMANCE_POSTGRES_URL (else
# CDR_TEST_POSTGRES_URL, else the local postgres@127.0.0.1:5432). The JSON report goes to
# aql-conformance-<database>.json unless --report is given; the exit status is the runner's (0: nothing failed).
# The shared corpus is looked up at ../shared next to the repository, or at CDR_SHARED.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/_venv.sh" "[dev]"

database="${1:-sqlite}"
[ "$#" -gt 0 ] && shift
SHARED="${CDR_SHARED:-$ROOT/../shared}"
RUNNER="$SHARED/tools/aql_conformance.py"
SUITES="$SHARED/openehr-data/ehrbase-integration-tests"
for needed in "$RUNNER" "$SUITES/DERIVED_aql_cases.json" "$SUITES/test_data_sets"; do
  [ -e "$needed" ] || { echo "error: $needed not found (set CDR_SHARED to the shared corpus)" >&2; exit 2; }
done

report=(--report "aql-conformance-$database.json")
for arg in "$@"; do
  case "$arg" in --report|--report=*) report=() ;; esac
done

# The server runs exactly as the runner's README starts it: `cdr serve` with its defaults. The suites load
# EHRbase's own test data (a DV_TEXT where test_all_types.opt allows only DV_URI, in
# all_types_systematic_tests*.json), which the default validation profile, ehrbase, accepts as EHRbase does
# (docs/conformance.md, "Validation"); a CDR_VALIDATION_PROFILE=strict left in the environment would
# refuse it, so it is cleared here.
unset CDR_VALIDATION_PROFILE

case "$database" in
  sqlite)
    server="$VENV/bin/cdr serve --port {port} --db sqlite:///{dbdir}/cdr.db"
    ;;
  postgres|postgresql)
    admin="${CDR_CONFORMANCE_POSTGRES_URL:-${CDR_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}}"
    server="$VENV/bin/python $ROOT/scripts/aql_conformance_pg.py --admin-url $admin --port {port}"
    trap '"$VENV/bin/python" "$ROOT/scripts/aql_conformance_pg.py" --admin-url "$admin" --cleanup || true' EXIT
    ;;
  *)
    echo "usage: $0 [sqlite|postgres] [runner args...]" >&2
    exit 2
    ;;
esac

status=0
"$VENV/bin/python" "$RUNNER" \
  --manifest "$SUITES/DERIVED_aql_cases.json" \
  --data-root "$SUITES/test_data_sets" \
  --server-cmd "$server" \
  "${report[@]}" "$@" || status=$?
exit "$status"
