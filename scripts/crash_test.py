"""Crash test (issue 17, "Nothing is lost when a process dies").

Residents submit 出生一件事 (the birth bundle) through POST /api/v1/cases to a real server
(gunicorn `tongban.wsgi` with several workers, and the background task worker beside it, as
scripts/serve.sh runs them) while a killer SIGKILLs a gunicorn worker every 0.5–1 s: a random
one, or for half of the kills (--aim) the one inside a database write transaction, a few
milliseconds into it or the moment it commits, where a death costs most (the holder of
SQLite's WAL write lock in /proc/locks; on PostgreSQL the backend with a transaction id,
traced to its worker by the socket). Optionally it also kills the whole gunicorn (master and
workers) and starts it again (--kill-server K), and with --postgres restarts the database
itself (--restart-db K, `pg_ctl stop -m immediate` then start). Afterwards it checks that
nothing was lost or left half-done, prints a table, and exits 1 when anything was.

    .venv/bin/python scripts/crash_test.py                      # SQLite, 10 residents, 60 s
    .venv/bin/python scripts/crash_test.py --duration 30 --residents 5 --kill-server 2
    .venv/bin/python scripts/crash_test.py --postgres --restart-db 2

How it runs (bounded: setup, DURATION, then at most --settle-timeout and 2 × --drain-timeout):

1. A scratch data folder under /tmp (TONGBAN_DATA_DIR; SQLite there by default). With
   --postgres the script starts its own PostgreSQL cluster (initdb as the `postgres` user into
   a temporary folder, trust authentication, a free port from 55432, its socket in that
   folder) and uses DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres; the machine's
   own PostgreSQL is never touched. Migrated, then the demo city loaded (`city_setup`; with
   --setup minimal only the catalog, the demo accounts and a few synthetic residents).
2. gunicorn (timeouts as serve.sh's; with --preload by default, so that a respawned worker
   is a fork ready at once and the kills land in requests rather than in start-ups:
   --no-preload starts it exactly as serve.sh does) and `manage.py tasks_worker` when the
   tree has it, else `db_worker`. A process that dies by itself (a worker when the database
   goes away) is counted and started again.
3. N residents (synthetic mothers given a login each) log in through the login page and
   submit, one after another, each submission with its own `Idempotency-Key` and the
   uploads her guide asks for: scans of the parents' 居民身份证 (an image in a PDF, as a
   scanner makes them). A request that gets no answer (connection refused or reset, timeout,
   502/503/504) or a 500 is sent again later with the same key and the same bytes until it
   is answered; only then does she move to a new key. The department systems (demo_sources)
   are not started: TONGBAN_EXCHANGE_ENABLED=0, as in the test suite.
4. When DURATION is over the killer stops, open keys are retried until answered, the server
   is stopped with SIGTERM, the task worker drains the queue (no READY task due, none
   RUNNING), the maintenance tick runs once in this process (every sweep the platform
   registers: among them those for staged or orphaned files and after-commit effects when
   the tree has them) and the worker drains again. Production's waits are shortened for a
   bounded run: staging notes are settled after --staging-grace seconds
   (TONGBAN_FILE_STAGING_GRACE_SECONDS) and a dead worker's task is queued again after
   --task-lease seconds (TONGBAN_TASK_LEASE_SECONDS).
5. The checks, each counted as violations:
   a) one case per idempotency key answered 201/200, with the receipt number it was answered
      with; no case for a key not answered so; every key answered in the end, none refused;
   b) every case complete: receipt_no, the submit audit row, events numbered 1..n starting
      with `submitted` and ending in the case's status, one applicant notice per status
      change, the uploads (size and sha256 as sent) and the waived materials, one task per
      planned item once accepted;
   c) every file under the storage root (outside staging/) named by a row, and every file a
      row names present with its recorded size and sha256;
   d) every notice delivered (delivered_at) or with a delivery task still queued (READY);
   e) nothing in the storage's staging/ folder older than the staging grace.
   The figures and the violations (with examples) are also written as JSON, by default to
   benchmarks/results/crash-<database>.json (git-ignored).

Everything it started is stopped and its scratch folders (and cluster) removed at the end,
also on Ctrl-C or SIGTERM; --keep keeps the folders to look at. Passwords use the fast
hasher (TONGBAN_FAST_PASSWORD_HASHER=1) so that loading the city stays quick.
tongban/tests/test_crash.py runs a short form of this on SQLite in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR / "benchmarks"))
from _client import multipart  # noqa: E402  (the benchmarks' multipart body, same bytes)

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
RESULTS = ROOT / "benchmarks" / "results"

USER_PREFIX = "crash"
NO_ANSWER_STATUSES = {502, 503, 504}  # what a proxy or an overloaded server says for "nobody"
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
DELIVER_NOTICE = "tongban.notifications.tasks.deliver_notice"
VIOLATION_KINDS = {
    "a": "cases == answered keys",
    "b": "cases complete",
    "c": "stored files named and intact",
    "d": "notices delivered or queued",
    "e": "staging notes within the bound",
}
EXAMPLES = 8  # violations listed per kind; the count is always complete


@dataclass
class Options:
    residents: int = 10
    duration: float = 60.0
    workers: int = 3
    kill_server: int = 0
    preload: bool = True
    aim: float = 0.5
    postgres: bool = False
    restart_db: int = 0
    setup: str = "city"
    population: int = 200
    staging_grace: int = 5
    task_lease: int = 20
    request_timeout: float = 10.0
    settle_timeout: float = 90.0
    drain_timeout: float = 180.0
    sqlite_template: str = ""
    json_path: str = ""
    seed: int = 17
    keep: bool = False


def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--residents", type=int, default=10, help="residents submitting at once")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of killing")
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    p.add_argument("--kill-server", type=int, default=0, metavar="K", help="kill all gunicorn K×")
    p.add_argument(
        "--preload",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gunicorn --preload (default): a respawned worker is a fork, ready at once; "
        "--no-preload starts gunicorn exactly as scripts/serve.sh does",
    )
    p.add_argument(
        "--aim",
        type=float,
        default=0.5,
        help="share of the worker kills aimed at a worker in a database write transaction, "
        "in it or right after its commit (0: every kill at a random worker)",
    )
    p.add_argument("--postgres", action="store_true", help="on a scratch PostgreSQL cluster")
    p.add_argument("--restart-db", type=int, default=0, metavar="K", help="restart it K times")
    p.add_argument("--setup", choices=["city", "minimal"], default="city")
    p.add_argument("--population", type=int, default=200, help="synthetic residents (city)")
    p.add_argument("--staging-grace", type=int, default=5, help="seconds a staging note may live")
    p.add_argument(
        "--task-lease",
        type=int,
        default=20,
        help="seconds before a RUNNING task of a dead worker is queued again (tasks_worker)",
    )
    p.add_argument("--request-timeout", type=float, default=10.0)
    p.add_argument("--settle-timeout", type=float, default=90.0, help="retrying after the end")
    p.add_argument("--drain-timeout", type=float, default=180.0, help="bound on the task queue")
    p.add_argument(
        "--sqlite-template", default="", help="start from this migrated SQLite file (no migrate)"
    )
    p.add_argument("--json", dest="json_path", default="", help="where to write the result")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--keep", action="store_true", help="keep the scratch folders")
    ns = p.parse_args(argv)
    opts = Options(**vars(ns))
    if opts.restart_db and not opts.postgres:
        p.error("--restart-db needs --postgres")
    if not 0 <= opts.aim <= 1:
        p.error("--aim is a share between 0 and 1")
    if opts.residents < 1 or opts.duration <= 0 or opts.workers < 1:
        p.error("--residents, --duration and --workers must be positive")
    if opts.sqlite_template and opts.postgres:
        p.error("--sqlite-template is for SQLite runs")
    return opts


def seeded(seed: float) -> random.Random:
    """Randomness for timing and choice, seeded so a run can be repeated; not for secrets."""
    return random.Random(seed)  # noqa: S311


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_cmd(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, **kwargs)  # noqa: S603 — our own argv, no shell


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(start: int) -> int:
    for port in range(start, start + 200):
        if port_free(port):
            return port
    raise RuntimeError(f"no free port from {start}")


# ---------------------------------------------------------------- a scratch PostgreSQL


class ScratchPostgres:
    """Our own cluster in a temporary folder: initdb, start, immediate restarts, removal."""

    def __init__(self) -> None:
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3])
        )
        if not versions:
            raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        self.bin = versions[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="tongban-crash-pg-"))
        self.data = self.dir / "data"
        self.port = free_port(55432)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:  # initdb refuses root: the cluster is the postgres user's
            shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o700)

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            argv = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True)  # noqa: S603

    def init(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                 "-E", "UTF8", "--no-locale")  # fmt: skip
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
                 "-t", "60", "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart_immediate(self) -> tuple[float, float]:
        """Stop without a checkpoint (as if the server died) and start again (crash
        recovery); returns (monotonic time it went down, time it accepted connections)."""
        down = time.monotonic()
        self.stop("immediate")
        self.start()
        return down, time.monotonic()

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- Django in this process


def django_setup(env: dict[str, str]) -> None:
    """Django in this process, on the scratch data folder (set before settings are read)."""
    os.environ.update(env)
    if "DATABASE_URL" not in env:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def close_db() -> None:
    from django.db import connections

    connections.close_all()


def load_city(opts: Options) -> dict[str, Any]:
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    if opts.setup == "city":
        call_command(
            "city_setup",
            residents=max(opts.population, 8 * opts.residents),
            no_progress=True,
            stdout=out,
        )
    else:
        from tongban.demo.accounts import ensure_demo_accounts
        from tongban.demo.population import generate_households, generate_residents

        call_command("catalog_load", stdout=out)
        call_command("certificate_types_load", stdout=out)
        ensure_demo_accounts()
        generate_residents(count=8 * opts.residents, seed=opts.seed, progress=False)
        generate_households(seed=opts.seed, progress=False)
    return {"setup": opts.setup, "seconds": round(time.perf_counter() - started, 1)}


def _font(size: int):
    """(font, draws Chinese?): a CJK font when one is installed (scripts/ensure-fonts.sh)."""
    from PIL import ImageFont

    for path in (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ):
        if Path(path).exists():
            return ImageFont.truetype(path, size), "DejaVu" not in path
    return ImageFont.load_default(size), False


def scan_pdf(*, code: str, title: str, name: str, id_number: str, seed: int) -> bytes:
    """A scanned card-sized paper (居民身份证 …) as a person uploads one: a slightly skewed,
    noisy greyscale JPEG in a one-page PDF. Synthetic, and marked so."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    rng = seeded(seed)
    w, h, margin = 1012, 638, 70  # ID-1 card at 300 dpi
    page = Image.new("L", (w + 2 * margin, h + 2 * margin), 238)
    draw = ImageDraw.Draw(page)
    draw.rounded_rectangle(
        (margin, margin, margin + w, margin + h), radius=40, fill=224, outline=120, width=3
    )
    font, chinese = _font(40)
    small, _ = _font(30)
    if chinese:
        lines = [f"{title}（示例）", f"姓名 {name}", f"公民身份号码 {id_number}", "示例市"]
    else:
        lines = [code.replace("_", " ").upper(), "SAMPLE CITY", f"ID No. {id_number}", "SAMPLE"]
    y = margin + 60
    for i, line in enumerate(lines):
        draw.text((margin + 60, y), line, fill=40, font=font if i < 3 else small)
        y += 110
    draw.rectangle((margin + w - 300, margin + 80, margin + w - 60, margin + 380), outline=90)
    draw.text((margin + w - 270, margin + 400), "SYNTHETIC", fill=90, font=small)
    page = Image.blend(page, Image.effect_noise(page.size, 40), 0.07)
    page = page.rotate(rng.uniform(-1.2, 1.2), resample=Image.Resampling.BICUBIC, fillcolor=238)
    jpeg = io.BytesIO()
    page.save(jpeg, "JPEG", quality=55)
    pdf = FPDF(unit="mm", format=(105, 74))
    pdf.set_margin(0)
    pdf.set_creator("Scanner (synthetic)")
    pdf.add_page()
    pdf.image(io.BytesIO(jpeg.getvalue()), x=0, y=0, w=105, h=74)
    return bytes(pdf.output())


@dataclass
class Applicant:
    username: str
    password: str
    payload: str  # the JSON text of the `payload` field, the same for each of its submissions
    files: dict[str, tuple[str, bytes]]  # material code -> (file name, content)


def make_applicants(opts: Options) -> list[Applicant]:
    """Resident logins for synthetic mothers (居民档案 without an account), each with a
    complete 出生一件事 payload for the guide her profile yields and the scans it asks for
    (the parents' 居民身份证 in the demo city)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from tongban.accounts.models import ResidentProfile, User
    from tongban.catalog.guide import bundle_questions, guide_for_bundle
    from tongban.catalog.selectors import element_definitions
    from tongban.demo.accounts import DEMO_PASSWORD
    from tongban.demo.form_samples import sample_value

    profiles = list(
        ResidentProfile.objects.filter(user__isnull=True, is_synthetic=True, sex="F").order_by(
            "pk"
        )[: opts.residents]
    )
    if len(profiles) < opts.residents:
        raise RuntimeError(f"only {len(profiles)} synthetic women without an account")
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers.update(applicant_relation="mother", born_in_city="yes", maternity_insured="yes")
    password = make_password(DEMO_PASSWORD)
    today = timezone.localdate()
    out = []
    with transaction.atomic():
        for i, profile in enumerate(profiles):
            user = User.objects.create(
                username=f"{USER_PREFIX}{i:03d}", password=password, kind=User.Kind.PERSON
            )
            profile.user = user
            profile.save(update_fields=["user"])
            guide = guide_for_bundle(code="birth", answers=answers, applicant=profile)
            elements = element_definitions([f.code for f in guide.fields])
            form = {
                f.code: sample_value(elements[f.code], n=j, today=today)
                for j, f in enumerate(guide.fields)
            }
            for prefix in ("applicant", "mother"):
                form[f"{prefix}.name"] = profile.name
                form[f"{prefix}.id_number"] = profile.id_number
            needed = [m for m in guide.materials if m.required and not m.spared]
            if not needed:
                raise RuntimeError("the birth guide asks no upload of this resident")
            # Each parent's own papers, scanned: the father's name the father's, any other hers.
            mother = (profile.name, profile.id_number)
            father = (form.get("father.name", ""), form.get("father.id_number", ""))
            files = {}
            for m in needed:
                name, number = father if m.code.startswith("father") else mother
                files[m.code] = (
                    f"{m.name}.pdf",
                    scan_pdf(code=m.code, title=m.name, name=name, id_number=number, seed=i),
                )
            payload = {
                "kind": "bundle",
                "code": "birth",
                "answers": guide.answers,
                "form_data": form,
                "materials": {code: {"how": "upload"} for code in files},
                "delivery": "online",
                # One mother, many submissions of the same birth: each is meant.
                "acknowledge_duplicate": True,
            }
            out.append(
                Applicant(
                    username=user.username,
                    password=DEMO_PASSWORD,
                    payload=json.dumps(payload, ensure_ascii=False),
                    files=files,
                )
            )
    return out


def tasks_worker_argv() -> tuple[str, list[str]]:
    """`tasks_worker` when the tree has it (the resilient one), else django-tasks' db_worker."""
    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    name = "tasks_worker" if "tasks_worker" in commands else "db_worker"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    has_queue = any("--queue-name" in a.option_strings for a in parser._actions)
    return name, [PY, "manage.py", name, *(["--queue-name", "default"] if has_queue else [])]


# ---------------------------------------------------------------- the server's processes


class Server:
    """gunicorn (own process group, so that killing "the whole server" kills only it) and
    the task worker; a supervisor restarts either when it dies without being told to."""

    def __init__(self, env, *, port: int, workers: int, preload: bool, logs: Path, worker_argv):
        self.env, self.port, self.workers, self.logs = env, port, workers, logs
        self.preload = preload
        self.worker_argv = worker_argv
        self.lock = threading.RLock()
        self.gunicorn: subprocess.Popen | None = None
        self.tasks: subprocess.Popen | None = None
        self.unexpected: Counter[str] = Counter()
        self.exit_codes: list[str] = []
        self._supervising = threading.Event()
        self._supervisor: threading.Thread | None = None

    def _spawn(self, argv: list[str], logname: str) -> subprocess.Popen:
        with open(self.logs / logname, "ab") as out:
            return subprocess.Popen(  # noqa: S603 — our own argv
                argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def start_gunicorn(self) -> None:
        with self.lock:
            self.gunicorn = self._spawn(
                [GUNICORN, "tongban.wsgi", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(self.workers), "--log-level", "warning",
                 "--timeout", "30", "--graceful-timeout", "30",
                 *(["--preload"] if self.preload else [])],
                "gunicorn.log",
            )  # fmt: skip

    def start_tasks(self) -> None:
        with self.lock:
            self.tasks = self._spawn(self.worker_argv, "tasks_worker.log")

    def worker_pids(self) -> list[int]:
        master = self.gunicorn.pid if self.gunicorn else None
        if master is None:
            return []
        try:
            text = Path(f"/proc/{master}/task/{master}/children").read_text()
            return [int(p) for p in text.split()]
        except OSError:
            pids = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(stat.parent.name))
            return pids

    def kill_worker(self, rng: random.Random) -> int | None:
        with self.lock:
            pids = self.worker_pids()
            if not pids:
                return None
            pid = rng.choice(pids)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return pid

    def kill_pid(self, pid: int) -> bool:
        """SIGKILL PID if it is (still) one of gunicorn's workers."""
        with self.lock:
            if pid not in self.worker_pids():
                return False
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return True

    def kill_gunicorn_and_restart(self) -> None:
        with self.lock:
            self._killpg(self.gunicorn)
            self.start_gunicorn()

    @staticmethod
    def _killpg(proc: subprocess.Popen | None) -> None:
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def supervise(self) -> None:
        """Until stop_supervising(): restart a process that died by itself (counted)."""
        self._supervising.set()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True, name="super")
        self._supervisor.start()

    def _supervise(self) -> None:
        while self._supervising.is_set():
            with self.lock:
                for name, proc, start in (
                    ("gunicorn", self.gunicorn, self.start_gunicorn),
                    ("tasks worker", self.tasks, self.start_tasks),
                ):
                    if proc is not None and proc.poll() is not None:
                        self.unexpected[name] += 1
                        self.exit_codes.append(f"{name}: exit {proc.returncode}")
                        log(f"{name} died by itself (exit {proc.returncode}); restarting")
                        self._killpg(proc)  # its children too
                        start()
            time.sleep(0.2)

    def stop_supervising(self) -> None:
        self._supervising.clear()
        if self._supervisor is not None:
            self._supervisor.join()

    def _terminate(self, proc: subprocess.Popen | None, timeout: float) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"pid {proc.pid} did not stop on SIGTERM within {timeout:.0f}s; killing it")
            self._killpg(proc)

    def stop_gunicorn(self) -> None:
        with self.lock:
            self._terminate(self.gunicorn, 30)
            self.gunicorn = None

    def stop_tasks(self) -> None:
        with self.lock:
            self._terminate(self.tasks, 60)
            self.tasks = None

    def kill_all(self) -> None:
        self._supervising.clear()
        for proc in (self.gunicorn, self.tasks):
            if proc is not None and proc.poll() is None:
                self._killpg(proc)


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status, _, _ = http_request(port, "GET", "/api/v1/health", timeout=2)
        if status == 200:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer /api/v1/health within {timeout:.0f}s")
        time.sleep(0.2)


# ---------------------------------------------------------------- residents


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float,
) -> tuple[int | None, bytes, http.client.HTTPResponse | str]:
    """(status, body, response) or (None, b"", the error's name) when nothing came back.
    A fresh connection each time: gunicorn's sync workers close theirs after every answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), resp
    except (OSError, http.client.HTTPException) as exc:
        return None, b"", type(exc).__name__
    finally:
        conn.close()


@dataclass
class KeyRecord:
    username: str
    key: str
    files: dict[str, tuple[int, str]]  # material code -> (size, sha256) as sent
    attempts: int = 0
    outcome: str = "pending"  # answered | refused | unanswered
    status: int | None = None
    receipt_no: str = ""
    refusal: str = ""


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter = field(default_factory=Counter)
    keys: list[KeyRecord] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # monotonic, each 201/200
    last_request_at: float = 0.0

    def add(self, **counts: int) -> None:
        with self.lock:
            self.counts.update(counts)


class Resident(threading.Thread):
    """One logged-in resident submitting 出生一件事 after 出生一件事 until told to stop; a
    submission is retried with the same key and bytes until it has an answer."""

    def __init__(self, applicant: Applicant, *, port: int, stats: Stats, opts: Options, rng):
        super().__init__(daemon=True, name=applicant.username)
        self.a, self.port, self.stats, self.opts, self.rng = applicant, port, stats, opts, rng
        self.cookies: dict[str, str] = {}
        self.stop_new = threading.Event()
        self.give_up_at = float("inf")
        self.error = ""

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _keep_cookies(self, resp) -> None:
        from http.cookies import SimpleCookie

        for header in resp.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for k, morsel in jar.items():
                self.cookies[k] = morsel.value

    def login(self) -> None:
        status, page, resp = http_request(self.port, "GET", "/accounts/login/", timeout=30)
        match = CSRF_FIELD.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"{self.a.username}: login page {status}")
        self._keep_cookies(resp)
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": match.group(1).decode(),
                "username": self.a.username,
                "password": self.a.password,
            }
        ).encode()
        headers = {
            **self._cookie_header(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://127.0.0.1:{self.port}/accounts/login/",
        }
        status, _, resp = http_request(
            self.port, "POST", "/accounts/login/", body, headers, timeout=30
        )
        if status != 302:
            raise RuntimeError(f"{self.a.username}: login {status}")
        self._keep_cookies(resp)
        if "sessionid" not in self.cookies:
            raise RuntimeError(f"{self.a.username}: no session cookie")

    def run(self) -> None:
        try:
            while not self.stop_new.is_set():
                self.submit(f"{self.a.username}-{uuid.uuid4().hex}")
        except Exception as exc:  # reported, and the run fails on it
            self.error = f"{type(exc).__name__}: {exc}"
            log(f"{self.a.username}: {self.error}")

    def submit(self, key: str) -> None:
        files = {
            f"material.{code}": (name, content, "application/pdf")
            for code, (name, content) in self.a.files.items()
        }
        body, ctype = multipart({"payload": self.a.payload}, files)  # the same bytes each try
        record = KeyRecord(
            username=self.a.username,
            key=key,
            files={
                code: (len(content), hashlib.sha256(content).hexdigest())
                for code, (_, content) in self.a.files.items()
            },
        )
        with self.stats.lock:
            self.stats.keys.append(record)
        headers = {
            **self._cookie_header(),
            "Content-Type": ctype,
            "Idempotency-Key": key,
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            "Referer": f"http://127.0.0.1:{self.port}/",
        }
        while True:
            if time.monotonic() > self.give_up_at:
                record.outcome = "unanswered"
                return
            record.attempts += 1
            self.stats.add(requests=1, retries=int(record.attempts > 1))
            status, data, info = http_request(
                self.port, "POST", "/api/v1/cases", body, headers, timeout=self.opts.request_timeout
            )
            now = time.monotonic()
            with self.stats.lock:
                self.stats.last_request_at = now
            if status is None or status in NO_ANSWER_STATUSES or status == 500:
                what = f"no_answer_{info}" if status is None else f"status_{status}"
                self.stats.add(**{what: 1})
                time.sleep(self.rng.uniform(0.1, 0.6))  # later, with the same key and bytes
                continue
            record.status = status
            if status in (200, 201):
                record.outcome = "answered"
                record.receipt_no = json.loads(data).get("receipt_no", "")
                self.stats.add(**{f"status_{status}": 1})
                with self.stats.lock:
                    self.stats.answered_at.append(now)
                return
            record.outcome = "refused"
            record.refusal = data[:300].decode("utf-8", "replace")
            self.stats.add(**{f"status_{status}": 1})
            log(f"{self.a.username} {key}: {status} {record.refusal}")
            return


# ---------------------------------------------------------------- the killer


class Aim:
    """Which gunicorn workers are inside a database write transaction right now: on SQLite the
    process holding the WAL write lock (byte 120 of the -shm file, in /proc/locks); on
    PostgreSQL the backends with a transaction id (pg_stat_activity.backend_xid), traced from
    their client port to the worker holding that socket (/proc/net/tcp, /proc/PID/fd)."""

    def __init__(self, server: Server, *, sqlite_shm: Path | None, pg_url: str | None) -> None:
        self.server, self.shm, self.pg_url = server, sqlite_shm, pg_url
        self._pg = None

    def writers(self) -> set[int]:
        workers = set(self.server.worker_pids())
        if not workers:
            return set()
        pids = self._sqlite_writers() if self.shm is not None else self._pg_writers(workers)
        return pids & workers

    def _sqlite_writers(self) -> set[int]:
        try:
            inode = self.shm.stat().st_ino
            lines = Path("/proc/locks").read_text().splitlines()
        except OSError:
            return set()
        out = set()
        for line in lines:
            parts = line.split()
            # "1: POSIX ADVISORY WRITE <pid> <maj:min:inode> <start> <end>" (a waiter has "->")
            if (
                len(parts) >= 8
                and parts[3] == "WRITE"
                and parts[6] == "120"
                and parts[5].rsplit(":", 1)[-1] == str(inode)
            ):
                out.add(int(parts[4]))
        return out

    def _pg_writers(self, workers: set[int]) -> set[int]:
        import psycopg

        try:
            if self._pg is None or self._pg.closed:
                self._pg = psycopg.connect(self.pg_url, autocommit=True, connect_timeout=2)
            ports = {
                row[0]
                for row in self._pg.execute(
                    "SELECT client_port FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
                    " AND client_port IS NOT NULL AND pid <> pg_backend_pid()"
                )
            }
        except psycopg.Error:
            self._pg = None
            return set()
        if not ports:
            return set()
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    parts = line.split()
                    if int(parts[1].rsplit(":", 1)[1], 16) in ports:
                        inodes.add(f"socket:[{parts[9]}]")
        out = set()
        for pid in workers:
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        if os.readlink(fd) in inodes:
                            out.add(pid)
                            break
        return out

    def close(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.close()


def aimed_kill(server: Server, aim: Aim, rng: random.Random, stop: threading.Event) -> str:
    """Wait (up to half a second) for a worker to be in a write transaction, then SIGKILL it
    either a few milliseconds into it (files written, rows not committed) or the moment its
    transaction ends (committed, the after-commit work not yet done). Returns what was hit:
    "in transaction", "after commit" or "" (nothing to aim at: the caller kills at random)."""
    deadline = time.monotonic() + 0.5
    writers: set[int] = set()
    while not writers and time.monotonic() < deadline and not stop.is_set():
        writers = aim.writers()
        if not writers:
            time.sleep(0.003)
    if not writers:
        return ""
    pid = rng.choice(sorted(writers))
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0, 0.03))
        return "in transaction" if server.kill_pid(pid) else ""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if pid not in aim.writers():
            return "after commit" if server.kill_pid(pid) else ""
        time.sleep(0.002)
    return ""


@dataclass
class Chaos:
    worker_kills: int = 0
    aimed: Counter = field(default_factory=Counter)
    server_kills: int = 0
    db_restarts: int = 0
    server_back_at: list[float] = field(default_factory=list)
    db_down_back: list[tuple[float, float]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


def killer(
    server: Server,
    aim: Aim,
    pg: ScratchPostgres | None,
    opts: Options,
    chaos: Chaos,
    started: float,
    stop: threading.Event,
) -> None:
    """SIGKILL a gunicorn worker every 0.5–1 s until DURATION is over, a random one or (a
    share --aim of the kills) one in a write transaction; kill the whole server and restart
    the database at evenly spread moments in between."""
    rng = seeded(opts.seed)
    # The whole-server kills and database restarts alternate, evenly spread, so that each
    # recovery is measured before the next blow.
    servers, dbs, blows = ["server"] * opts.kill_server, ["db"] * opts.restart_db, []
    while servers or dbs:
        blows += [dbs.pop()] if dbs else []
        blows += [servers.pop()] if servers else []
    plan = [(opts.duration * (j + 1) / (len(blows) + 1), what) for j, what in enumerate(blows)]
    end = started + opts.duration
    while not stop.is_set() and time.monotonic() < end:
        if plan and time.monotonic() - started >= plan[0][0]:
            _, what = plan.pop(0)
            at = time.monotonic() - started
            if what == "server":
                server.kill_gunicorn_and_restart()
                chaos.server_kills += 1
                chaos.server_back_at.append(time.monotonic())
                chaos.events.append(f"{at:6.1f}s killed gunicorn (master and workers), restarted")
            else:
                down, back = pg.restart_immediate()
                chaos.db_restarts += 1
                chaos.db_down_back.append((down, back))
                chaos.events.append(
                    f"{at:6.1f}s PostgreSQL stopped -m immediate and started: "
                    f"down {back - down:.1f}s"
                )
            log(chaos.events[-1].strip())
            continue
        hit = aimed_kill(server, aim, rng, stop) if rng.random() < opts.aim else ""
        if hit:
            chaos.aimed[hit] += 1
            chaos.worker_kills += 1
        elif server.kill_worker(rng) is not None:
            chaos.worker_kills += 1
        stop.wait(rng.uniform(0.5, 1.0))


def first_answer_after(moments: list[float], answered_at: list[float]) -> list[float | None]:
    """For each moment, seconds until the first 201/200 answer after it."""
    out: list[float | None] = []
    for moment in moments:
        later = [t for t in answered_at if t >= moment]
        out.append(round(min(later) - moment, 2) if later else None)
    return out


# ---------------------------------------------------------------- after: drain and sweep


def queue_state() -> tuple[int, int]:
    """(READY tasks due now, RUNNING tasks)."""
    from django_tasks_db.models import DBTaskResult

    close_db()
    return DBTaskResult.objects.ready().count(), DBTaskResult.objects.filter(
        status="RUNNING"
    ).count()


def drain(timeout: float, *, reclaims: bool) -> dict[str, Any]:
    """Wait until no task is due and none is RUNNING. A row a dead worker left RUNNING is
    queued again by a worker that RECLAIMS them (tasks_worker, after the lease), so that one
    is waited for (bounded); db_worker never runs it again: once the RUNNING count stays put
    for a few seconds it is counted as left, not waited for."""
    started = time.monotonic()
    stable, last = 0, None
    while True:
        ready, running = queue_state()
        stable = stable + 1 if ready == 0 and running == last else 0
        last = running
        if ready == 0 and (running == 0 or (stable >= 6 and not reclaims)):
            return {"seconds": round(time.monotonic() - started, 1), "left_running": running}
        if time.monotonic() - started > timeout:
            return {
                "seconds": round(time.monotonic() - started, 1),
                "timed_out": True,
                "left_ready": ready,
                "left_running": running,
            }
        time.sleep(0.5)


def maintenance_tick() -> dict[str, Any]:
    """The platform's maintenance tick, once, here: every sweep it registers (SLA, deadlines,
    and those for staged or orphaned files and after-commit effects, when the tree has
    them), as the worker would run it when its time comes."""
    from tongban.cases import schedule

    sweeps = sorted(getattr(schedule, "_registered_sweeps", {}))
    result = schedule.tick_run(current_id=None)
    close_db()
    return {"registered_sweeps": sweeps, "counts": result.counts, "failed": list(result.failed)}


# ---------------------------------------------------------------- the checks


def _violation(out: dict[str, list[str]], kind: str, text: str) -> None:
    out.setdefault(kind, []).append(text)


def check_keys(keys: list[KeyRecord], out: dict[str, list[str]]) -> dict[str, Any]:
    """a) exactly one case per key answered 201/200, with the receipt it was answered with."""
    from tongban.cases.models import Application

    cases: dict[tuple[str, str], list[str]] = {}
    for username, key, receipt in Application.objects.filter(
        applicant__username__startswith=USER_PREFIX
    ).values_list("applicant__username", "idempotency_key", "receipt_no"):
        cases.setdefault((username, key), []).append(receipt)
    sent = {(r.username, r.key): r for r in keys}
    for (username, key), r in sent.items():
        found = cases.get((username, key), [])
        if r.outcome == "unanswered":
            _violation(out, "a", f"{key}: never answered after {r.attempts} tries")
        elif r.outcome == "refused":
            _violation(out, "a", f"{key}: refused {r.status} {r.refusal[:120]}")
        if len(found) > 1:
            _violation(out, "a", f"{key}: {len(found)} cases {found}")
        if r.outcome == "answered" and not found:
            _violation(out, "a", f"{key}: answered {r.status} {r.receipt_no} but no case")
        if r.outcome == "answered" and found and r.receipt_no not in found:
            _violation(out, "a", f"{key}: answered {r.receipt_no}, the case is {found}")
        if r.outcome != "answered" and found:
            _violation(out, "a", f"{key}: case {found} for a key not answered 201")
    for (username, key), receipts in cases.items():
        if (username, key) not in sent:
            _violation(out, "a", f"{username} {key}: case {receipts} for a key never sent")
    return {"cases": sum(len(v) for v in cases.values()), "keys": len(sent)}


def check_cases(keys: list[KeyRecord], out: dict[str, list[str]]) -> dict[str, Any]:
    """b) every case complete, as case_submit writes it (and acceptance after it)."""
    from tongban.cases.models import Application
    from tongban.common.models import AuditEvent
    from tongban.notifications.models import Notice

    sent = {(r.username, r.key): r for r in keys}
    statuses: Counter[str] = Counter()
    qs = (
        Application.objects.filter(applicant__username__startswith=USER_PREFIX)
        .select_related("applicant")
        .prefetch_related("events", "materials", "tasks")
    )
    audited = set(
        AuditEvent.objects.filter(action="case.submit", object_type="case").values_list(
            "object_id", flat=True
        )
    )
    notices = Counter(
        Notice.objects.filter(
            recipient__username__startswith=USER_PREFIX, category="case"
        ).values_list("link", flat=True)
    )
    for case in qs:
        statuses[case.status] += 1
        name = case.receipt_no or f"case #{case.pk}"
        problems = []
        if not case.receipt_no:
            problems.append("no receipt_no")
        if case.receipt_no not in audited:
            problems.append("no case.submit audit row")
        events = sorted(case.events.all(), key=lambda e: e.seq)
        if [e.seq for e in events] != list(range(1, len(events) + 1)):
            problems.append(f"event seqs {[e.seq for e in events]}")
        if not events or events[0].action != "submitted":
            problems.append("first event is not submitted")
        changes = [e for e in events if e.to_status]
        if not changes or changes[-1].to_status != case.status:
            problems.append(f"status {case.status!r} is not the last event's")
        told = notices[f"/me/cases/{case.receipt_no}/"]
        if told != len(changes):
            problems.append(f"{told} notices for {len(changes)} status changes")
        record = sent.get((case.applicant.username, case.idempotency_key))
        materials = list(case.materials.all())
        uploads = [m for m in materials if m.how == "upload"]
        if record is not None:
            for code, (size, sha) in record.files.items():
                rows = [m for m in uploads if m.material_code == code]
                if len(rows) != 1:
                    problems.append(f"{len(rows)} upload rows for {code}")
                elif not rows[0].file or rows[0].size != size or rows[0].sha256 != sha:
                    problems.append(f"{code}: the row does not match what was sent")
        spared = {m["code"] for m in case.plan.get("materials", []) if m.get("spared")}
        waived = {m.material_code for m in materials if m.how == "waived"}
        if waived != spared - {m.material_code for m in uploads}:
            problems.append(f"waived {sorted(waived)} != spared {sorted(spared)}")
        planned = sorted(i["code"] for i in case.plan.get("items", []))
        tasks = sorted(t.item_code for t in case.tasks.all())
        accepted = any(e.to_status == "accepted" for e in events)
        if accepted and tasks != planned:
            problems.append(f"tasks {tasks} != planned items {planned}")
        if not accepted and tasks:
            problems.append(f"tasks {tasks} before acceptance")
        if problems:
            _violation(out, "b", f"{name}: " + "; ".join(problems))
    return {"case_statuses": dict(statuses)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_files(out: dict[str, list[str]]) -> dict[str, Any]:
    """c) every stored file (outside staging/) named by a row; every named file intact."""
    from django.apps import apps
    from django.conf import settings
    from django.db import models

    root = Path(settings.MEDIA_ROOT)
    named: dict[str, tuple[str, int | None, str]] = {}  # name -> (model, size, sha256)
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.FileField):
                continue
            # The size and digest recorded beside the file: size/sha256 or <field>_size/_sha256.
            fields = {x.name for x in model._meta.concrete_fields}
            size_f = next((n for n in (f"{f.name}_size", "size") if n in fields), None)
            sha_f = next((n for n in (f"{f.name}_sha256", "sha256") if n in fields), None)
            values = [f.name, *(n for n in (size_f, sha_f) if n)]
            for row in model._base_manager.exclude(**{f.name: ""}).values_list(*values):
                size = row[values.index(size_f)] if size_f else None
                sha = row[values.index(sha_f)] if sha_f else ""
                named[row[0]] = (model._meta.label, size, sha)
    on_disk = set()
    if root.exists():
        for path in root.rglob("*"):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and not rel.startswith("staging/"):
                on_disk.add(rel)
    orphans = sorted(on_disk - set(named))
    for rel in orphans:
        _violation(out, "c", f"{rel}: stored, no row names it")
    for name, (label, size, sha) in sorted(named.items()):
        path = root / name
        if name not in on_disk:
            _violation(out, "c", f"{name}: named by {label}, missing")
        elif size is not None and path.stat().st_size != size:
            _violation(out, "c", f"{name}: {path.stat().st_size} bytes, {label} says {size}")
        elif sha and _sha256(path) != sha:
            _violation(out, "c", f"{name}: sha256 differs from {label}'s")
    return {"files_stored": len(on_disk), "files_named": len(named), "orphans": len(orphans)}


def check_notices(out: dict[str, list[str]], run_started: dt.datetime) -> dict[str, Any]:
    """d) every notice delivered, or its delivery task still queued."""
    from django_tasks_db.models import DBTaskResult

    from tongban.notifications.models import Notice

    # The worker has stopped: a READY task is still queued, a RUNNING one was left so by a
    # worker that died and (with db_worker) never runs again.
    queued, stuck, tasked = set(), set(), set()
    for status, args in DBTaskResult.objects.filter(task_path=DELIVER_NOTICE).values_list(
        "status", "args_kwargs"
    ):
        notice_id = (args or {}).get("kwargs", {}).get("notice_id")
        tasked.add(notice_id)
        if status == "READY":
            queued.add(notice_id)
        elif status == "RUNNING":
            stuck.add(notice_id)
    total = Notice.objects.count()
    undelivered = Notice.objects.filter(delivered_at__isnull=True).values_list(
        "pk", "created_at", "title"
    )
    lost = Counter()
    for pk, created_at, title in undelivered:
        if pk in queued:
            continue
        if pk in stuck:
            why = "its delivery task was left RUNNING by a worker that died"
        elif pk in tasked:
            why = "its delivery task ran and did not deliver"
        else:
            why = "no delivery task"
        when = "during the run" if created_at >= run_started else "before the run"
        lost[(why, when)] += 1
        _violation(out, "d", f"notice {pk} ({title[:30]}, {when}): {why}")
    left_running = Counter(
        DBTaskResult.objects.filter(status="RUNNING").values_list("task_path", flat=True)
    )
    return {
        "notices": total,
        "undelivered_by_reason": {f"{w} ({t})": n for (w, t), n in lost.items()},
        "tasks_left_running": dict(left_running),
    }


def check_staging(out: dict[str, list[str]], grace: int) -> dict[str, Any]:
    """e) no note in staging/ older than the grace the platform allows itself."""
    from django.conf import settings

    folder = Path(settings.MEDIA_ROOT) / "staging"
    bound = getattr(settings, "TONGBAN_FILE_STAGING_GRACE_SECONDS", grace)
    notes = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    now = time.time()
    old = [p for p in notes if now - p.stat().st_mtime > bound]
    for p in old:
        _violation(out, "e", f"staging/{p.name}: {now - p.stat().st_mtime:.0f}s old > {bound}s")
    return {"staging_notes": len(notes), "staging_bound_seconds": bound}


# ---------------------------------------------------------------- the run


def run(opts: Options) -> dict[str, Any]:
    """The whole test; returns the result (figures, violations) and cleans up after itself."""
    wall0 = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="tongban-crash-"))
    env = {
        **os.environ,
        "TONGBAN_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "tongban.settings",
        "PYTHONPATH": str(ROOT),
        "TONGBAN_LOG_LEVEL": "WARNING",
        "TONGBAN_FAST_PASSWORD_HASHER": "1",
        "TONGBAN_EXCHANGE_ENABLED": "0",
        "TONGBAN_FILE_STAGING_GRACE_SECONDS": str(opts.staging_grace),
        "TONGBAN_TASK_LEASE_SECONDS": str(opts.task_lease),
    }
    env.pop("DATABASE_URL", None)
    pg: ScratchPostgres | None = None
    server: Server | None = None
    residents: list[Resident] = []
    result: dict[str, Any] = {"options": asdict(opts)}
    timings: dict[str, float] = {}
    try:
        if opts.postgres:
            pg = ScratchPostgres()
            pg.init()
            env["DATABASE_URL"] = pg.url
            log(f"scratch PostgreSQL cluster on port {pg.port} ({pg.dir})")
        t = time.monotonic()
        if opts.sqlite_template:  # migrated already (the test suite's own test database)
            shutil.copyfile(opts.sqlite_template, data_dir / "tongban.sqlite3")
            with contextlib.closing(sqlite3.connect(data_dir / "tongban.sqlite3")) as db:
                db.execute("PRAGMA journal_mode=WAL")
        else:
            run_cmd([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env)
        timings["migrate"] = round(time.monotonic() - t, 1)
        django_setup(env)
        from django.db import connection
        from django.utils import timezone

        from tongban.cases.schedule import schedule_ensure

        database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
        log(f"{database}: migrated in {timings['migrate']}s; loading the city ({opts.setup})")
        result["setup"] = load_city(opts)
        applicants = make_applicants(opts)
        schedule_ensure()  # as scripts/serve.sh does at start-up
        worker_name, worker_argv = tasks_worker_argv()
        close_db()
        log(f"{len(applicants)} residents ready in {result['setup']['seconds']}s; serving")

        logs = data_dir / "logs"
        logs.mkdir()
        port = free_port(18000)
        server = Server(
            env,
            port=port,
            workers=opts.workers,
            preload=opts.preload,
            logs=logs,
            worker_argv=worker_argv,
        )
        server.start_tasks()
        server.start_gunicorn()
        t = time.monotonic()
        wait_healthy(port)
        timings["server_up"] = round(time.monotonic() - t, 1)
        stats = Stats()
        master = seeded(opts.seed)
        residents = [
            Resident(a, port=port, stats=stats, opts=opts, rng=seeded(master.random()))
            for a in applicants
        ]
        t = time.monotonic()
        for r in residents:
            r.login()
        timings["logins"] = round(time.monotonic() - t, 1)
        server.supervise()
        run_started = timezone.now()
        chaos = Chaos()
        stop = threading.Event()
        started = time.monotonic()
        for r in residents:
            r.start()
        log(f"killing for {opts.duration:.0f}s: workers every 0.5–1s, "
            f"server ×{opts.kill_server}, database ×{opts.restart_db}")  # fmt: skip
        aim = Aim(
            server,
            sqlite_shm=None if pg else data_dir / "tongban.sqlite3-shm",
            pg_url=pg.url if pg else None,
        )
        try:
            killer(server, aim, pg, opts, chaos, started, stop)
        finally:
            aim.close()
        chaos_seconds = time.monotonic() - started

        # The end: no new submissions; the open ones retried until answered (bounded).
        settle_started = time.monotonic()
        for r in residents:
            r.give_up_at = time.monotonic() + opts.settle_timeout
            r.stop_new.set()
        for r in residents:
            r.join(opts.settle_timeout + opts.request_timeout + 5)
        timings["settle"] = round(time.monotonic() - settle_started, 1)
        server.stop_supervising()
        t = time.monotonic()
        server.stop_gunicorn()
        timings["server_stop"] = round(time.monotonic() - t, 1)
        log(f"stopped the server; draining the task queue ({worker_name})")

        # The worker keeps running (supervised again) until the queue is drained.
        server.supervise()
        reclaims = worker_name == "tasks_worker"
        first_drain = drain(opts.drain_timeout, reclaims=reclaims)
        wait = opts.staging_grace - (time.monotonic() - stats.last_request_at) + 1
        if wait > 0:  # the sweep settles only notes older than the grace
            time.sleep(wait)
        # What the sweeps find to do: the same checks before them, for the report only.
        before: dict[str, list[str]] = {}
        check_files(before)
        check_notices(before, run_started)
        check_staging(before, opts.staging_grace)
        tick = maintenance_tick()
        second_drain = drain(opts.drain_timeout, reclaims=reclaims)
        server.stop_supervising()
        server.stop_tasks()
        t = time.monotonic()

        violations: dict[str, list[str]] = {}
        figures = {}
        figures.update(check_keys(stats.keys, violations))
        figures.update(check_cases(stats.keys, violations))
        figures.update(check_files(violations))
        figures.update(check_notices(violations, run_started))
        figures.update(check_staging(violations, opts.staging_grace))
        timings["checks"] = round(time.monotonic() - t, 1)
        if any(r.error for r in residents):
            raise RuntimeError("; ".join(r.error for r in residents if r.error))

        counts = stats.counts
        result.update(
            {
                "database": database,
                "tasks_worker": worker_name,
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "requests": {
                    "sent": counts["requests"],
                    "retries": counts["retries"],
                    "keys": len(stats.keys),
                    "answered": sum(1 for k in stats.keys if k.outcome == "answered"),
                    "answers": {k: v for k, v in sorted(counts.items()) if k.startswith("status")},
                    "no_answer": {
                        k[len("no_answer_") :]: v
                        for k, v in sorted(counts.items())
                        if k.startswith("no_answer_")
                    },
                    "most_tries_for_one_key": max((k.attempts for k in stats.keys), default=0),
                },
                "kills": {
                    "workers": chaos.worker_kills,
                    "workers_aimed": dict(chaos.aimed),
                    "server": chaos.server_kills,
                    "db_restarts": chaos.db_restarts,
                    "died_by_themselves": dict(server.unexpected),
                    "exits": server.exit_codes,
                    "events": chaos.events,
                },
                "recovery_seconds": {
                    "db_down": [round(b - d, 2) for d, b in chaos.db_down_back],
                    "db_back_to_first_answer": first_answer_after(
                        [b for _, b in chaos.db_down_back], stats.answered_at
                    ),
                    "server_restart_to_first_answer": first_answer_after(
                        chaos.server_back_at, stats.answered_at
                    ),
                },
                "after": {
                    "drain": first_drain,
                    "before_tick": {k: len(before.get(k, [])) for k in "cde"},
                    "before_tick_examples": {k: v[:EXAMPLES] for k, v in before.items()},
                    "tick": tick,
                    "drain_after_tick": second_drain,
                },
                "figures": figures,
                "violations": {k: len(violations.get(k, [])) for k in VIOLATION_KINDS},
                "violation_examples": {k: v[:EXAMPLES] for k, v in violations.items()},
                "seconds": {
                    **timings,
                    "setup": result["setup"]["seconds"],
                    "killing": round(chaos_seconds, 1),
                    "total": round(time.monotonic() - wall0, 1),
                },
            }
        )
        return result
    finally:
        for r in residents:
            r.give_up_at = 0
            r.stop_new.set()
        if server is not None:
            server.kill_all()
        with contextlib.suppress(Exception):
            close_db()
        if pg is not None:
            if opts.keep:
                pg.stop("fast")
                log(f"kept the stopped cluster in {pg.dir}")
            else:
                pg.destroy()
        if opts.keep:
            log(f"kept the data folder {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def report(result: dict[str, Any]) -> str:
    req, kills, rec = result["requests"], result["kills"], result["recovery_seconds"]
    o = result["options"]
    rows = [
        ("requests sent", req["sent"]),
        ("  of them retries (same key, same bytes)", req["retries"]),
        ("  no answer (retried)", sum(req["no_answer"].values())),
        *((f"    {k}", v) for k, v in req["no_answer"].items()),
        *((f"  answered {k[7:]}", v) for k, v in req["answers"].items()),
        ("submissions (idempotency keys)", req["keys"]),
        ("  answered in the end", req["answered"]),
        ("  most tries for one key", req["most_tries_for_one_key"]),
        ("gunicorn workers SIGKILLed", kills["workers"]),
        *((f"  aimed: {k}", v) for k, v in kills["workers_aimed"].items()),
        ("whole gunicorn killed and restarted", kills["server"]),
        ("database restarted (-m immediate)", kills["db_restarts"]),
        *((f"died by itself: {k}", v) for k, v in kills["died_by_themselves"].items()),
        ("cases in the database", result["figures"]["cases"]),
        (
            "files stored / named by rows",
            "{files_stored} / {files_named}".format(**result["figures"]),
        ),
        ("notices", result["figures"]["notices"]),
    ]
    if rec["db_down"]:
        rows.append(("database down (s)", ", ".join(map(str, rec["db_down"]))))
        rows.append(
            ("db back → first answer (s)", ", ".join(map(str, rec["db_back_to_first_answer"])))
        )
    if rec["server_restart_to_first_answer"]:
        rows.append(("server restart → first answer (s)",
                     ", ".join(map(str, rec["server_restart_to_first_answer"]))))  # fmt: skip
    lines = [
        f"crash test — {result['database']}, {o['residents']} residents, {o['duration']:.0f}s of "
        f"killing, gunicorn {o['workers']} workers, task worker: {result['tasks_worker']}",
        "",
        *(f"  {name:<42} {value}" for name, value in rows),
        "",
        "  violations",
    ]
    for kind, label in VIOLATION_KINDS.items():
        lines.append(f"  {kind}) {label:<39} {result['violations'][kind]}")
    for kind, examples in result["violation_examples"].items():
        lines.append(f"\n  {kind}) e.g.")
        lines += [f"     {e}" for e in examples]
    if kills["events"] or kills["exits"]:
        lines += ["", "  what happened", *(f"    {e}" for e in kills["events"])]
        lines += [f"    died by itself: {e}" for e in kills["exits"]]
    tick, before = result["after"]["tick"], result["after"]["before_tick"]
    done = {k: v for k, v in tick["counts"].items() if v}
    lines += [
        "",
        f"  before the maintenance tick: c) {before['c']}, d) {before['d']}, e) {before['e']}",
        f"  maintenance tick: sweeps {', '.join(tick['registered_sweeps']) or '(none registered)'}",
        f"    counts not zero {json.dumps(done, ensure_ascii=False)}"
        + (f", failed {tick['failed']}" if tick["failed"] else ""),
        f"  drain: {json.dumps(result['after']['drain'])}, after the tick: "
        f"{json.dumps(result['after']['drain_after_tick'])}",
        "  undelivered notices: "
        + json.dumps(result["figures"]["undelivered_by_reason"], ensure_ascii=False),
        "  tasks left RUNNING (by a worker that died): "
        + json.dumps(result["figures"]["tasks_left_running"]),
        f"  seconds: {json.dumps(result['seconds'])}",
    ]
    return "\n".join(lines)


def _interrupted(signum, frame) -> None:
    # SIGTERM (a CI timeout, pytest's) unwinds like Ctrl-C, so the cleanup in run() happens.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        result = run(opts)
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        return 130
    print(report(result))
    path = Path(opts.json_path) if opts.json_path else (
        RESULTS / f"crash-{result['database'].lower()}.json"
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"\nwritten: {path}")
    return 1 if any(result["violations"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
