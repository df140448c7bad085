#!/usr/bin/env bash
# Every benchmark, SQLite then PostgreSQL where reachable. Figures go to stdout and benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL="${TONGBAN_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
$PY benchmarks/api.py
$PY benchmarks/cases_submit.py
$PY benchmarks/cases_reads.py --sizes 10000 100000 1000000
if $PY -c "import psycopg,sys; psycopg.connect(sys.argv[1] + '/test', connect_timeout=3).close()" "$PG_URL" 2>/dev/null; then
  psql "$PG_URL/test" -qc "DROP DATABASE IF EXISTS tongban_bench" -qc "CREATE DATABASE tongban_bench" >/dev/null
  $PY benchmarks/api.py --postgres "$PG_URL/tongban_bench"
  # These two create, and drop when done, scratch databases of their own.
  $PY benchmarks/cases_submit.py --postgres "$PG_URL/tongban_bench_cases_submit"
  $PY benchmarks/cases_reads.py --sizes 10000 100000 --postgres "$PG_URL/tongban_bench_cases_reads"
fi
$PY benchmarks/population.py --sizes 10000 100000
$PY benchmarks/certificates_verify.py
$PY benchmarks/idcode.py
$PY benchmarks/passkeys_login.py
$PY benchmarks/bench_login.py
$PY benchmarks/connect.py  # OIDC token issuance; token- vs cookie-authenticated API read
if $PY -c "import psycopg,sys; psycopg.connect(sys.argv[1] + '/test', connect_timeout=3).close()" "$PG_URL" 2>/dev/null; then
  $PY benchmarks/policies.py --postgres "$PG_URL/tongban_bench_policies"
  $PY benchmarks/policies_person.py --postgres "$PG_URL/tongban_bench_person"
else
  $PY benchmarks/policies.py
  $PY benchmarks/policies_person.py
fi
# 统一预约 (bookings/s under contention, zero overbooking) and 取号叫号 (call-next, screen feed).
$PY benchmarks/booking.py
$PY benchmarks/queue_calls.py
if $PY -c "import psycopg,sys; psycopg.connect(sys.argv[1] + '/test', connect_timeout=3).close()" "$PG_URL" 2>/dev/null; then
  $PY benchmarks/booking.py --postgres "$PG_URL/tongban_bench_booking"
  $PY benchmarks/queue_calls.py --postgres "$PG_URL/tongban_bench_queue"
fi
