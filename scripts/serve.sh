#!/usr/bin/env bash
# Serve the app (gunicorn), run the background-task worker (manage.py tasks_worker) and the demo
# city's department systems (manage.py demo_sources, the data sources 数据共享核验 asks) together.
#
# Queued tasks only run while a worker runs, so `make run` must never leave one without the
# other: when any process exits, the others are stopped too and this script exits with the
# status of the one that died first. A database restart is not such an exit: requests answer
# 503 meanwhile and tasks_worker waits for the database and resumes. Ctrl-C (SIGINT) or SIGTERM
# stops them all cleanly: gunicorn finishes the requests in flight (up to GRACEFUL_TIMEOUT
# seconds) and the worker its current task.
#
#   HOST=127.0.0.1 PORT=8000 WORKERS=2 DEMO_SOURCES_PORT=8100 bash scripts/serve.sh
# Faults in the department systems for a demo: TONGBAN_DEMO_SOURCES_FAULTS="gaj_population=slow:3"
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
WORKERS=${WORKERS:-2}
# A request running longer than REQUEST_TIMEOUT seconds has its gunicorn worker killed and
# replaced; on SIGTERM the requests in flight get GRACEFUL_TIMEOUT seconds to finish.
REQUEST_TIMEOUT=${REQUEST_TIMEOUT:-30}
GRACEFUL_TIMEOUT=${GRACEFUL_TIMEOUT:-30}
DEMO_SOURCES_PORT=${DEMO_SOURCES_PORT:-8100}
# The platform asks the department systems where they listen (settings.TONGBAN_EXCHANGE_ENDPOINTS).
export TONGBAN_DEMO_SOURCES_URL=${TONGBAN_DEMO_SOURCES_URL:-http://127.0.0.1:$DEMO_SOURCES_PORT}
pids=()

stop_all() {
  trap - INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # gunicorn finishes in-flight requests and tasks_worker its current task on SIGTERM.
  wait
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

# Start the self-rescheduling maintenance tick (SLA, 补正/容缺 deadlines) unless one is
# already queued; the worker below runs it. Idempotent, so every start-up may call it.
"$VENV/bin/python" manage.py schedule_ensure || exit 1

"$VENV/bin/gunicorn" tongban.wsgi --bind "$HOST:$PORT" --workers "$WORKERS" \
  --timeout "$REQUEST_TIMEOUT" --graceful-timeout "$GRACEFUL_TIMEOUT" \
  --access-logfile - --log-level warning &
pids+=($!)
"$VENV/bin/python" manage.py tasks_worker --queue-name default &
pids+=($!)
"$VENV/bin/python" manage.py demo_sources --host 127.0.0.1 --port "$DEMO_SOURCES_PORT" &
pids+=($!)

wait -n
status=$?
echo "serve.sh: a process stopped (exit $status); stopping the others" >&2
stop_all
exit "$status"
