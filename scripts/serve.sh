#!/usr/bin/env bash
# Serve the app (gunicorn) and run the background-task worker (db_worker) together.
#
# Queued tasks only run while a worker runs, so `make run` must never leave one without the
# other: when either process exits, the other is stopped too and this script exits with the
# status of the one that died first. Ctrl-C (SIGINT) or SIGTERM stops both cleanly.
#
#   HOST=127.0.0.1 PORT=8000 WORKERS=2 bash scripts/serve.sh
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
WORKERS=${WORKERS:-2}
pids=()

stop_all() {
  trap - INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # gunicorn finishes in-flight requests and db_worker its current task on SIGTERM.
  wait
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

# Start the self-rescheduling maintenance tick (SLA, 补正/容缺 deadlines) unless one is
# already queued; the worker below runs it. Idempotent, so every start-up may call it.
"$VENV/bin/python" manage.py schedule_ensure || exit 1

"$VENV/bin/gunicorn" tongban.wsgi --bind "$HOST:$PORT" --workers "$WORKERS" \
  --access-logfile - --log-level warning &
pids+=($!)
"$VENV/bin/python" manage.py db_worker --queue-name default &
pids+=($!)

wait -n
status=$?
echo "serve.sh: a process stopped (exit $status); stopping the others" >&2
stop_all
exit "$status"
