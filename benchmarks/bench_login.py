"""Logins per second per core through the password hasher production uses, against that
hasher alone, in one run.

    .venv/bin/python benchmarks/bench_login.py [--seconds 4] [--rounds 3]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

One process (= one core). A fresh database (a temporary SQLite file, or with --postgres the
scratch database DBNAME, dropped and created first; "test" and "postgres" are refused) is
migrated and given one account whose password is hashed the way production hashes it.

The hasher is whatever `PASSWORD_HASHERS[0]` is with the environment a deployment has: Django
5.2's default, PBKDF2-SHA256 at 1,000,000 iterations (`PBKDF2PasswordHasher`). The test-only
MD5 hasher is refused: TONGBAN_FAST_PASSWORD_HASHER is removed from the environment before
Django starts, and the run stops if the hasher is MD5 anyway.

- hasher: `check_password` of the right password against the stored hash — the floor.
- password_step: `login_password_step` (throttle look-up, `authenticate`), what the login
  form runs before the session starts.
- unknown_user: the same step for a username that does not exist. Django hashes once anyway
  (so a login cannot tell names apart by time); it is counted as a failure, each from its own
  address so the throttle never delays it.
- page: a POST to /accounts/login/ through Django's test client, as a browser's: throttle,
  password, session created, the success recorded (LoginAttempt row and audit row), redirect.
Each is timed for ROUNDS rounds of SECONDS; the best round is reported, with this process's
CPU time per login ("…_per_cpu_second"), the steadier figure on a shared machine.

Writes benchmarks/results/login-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process

PASSWORD = "Bench-login-2026!"  # a scratch account in a scratch database


def timed(fn, seconds: float) -> tuple[float, float]:
    """(calls per wall-clock second, calls per CPU second of this process) over SECONDS."""
    n = 0
    started, cpu = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while True:
        fn(n)
        n += 1
        if time.perf_counter() >= deadline:
            break
    return n / (time.perf_counter() - started), n / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    os.environ.pop("TONGBAN_FAST_PASSWORD_HASHER", None)
    vendor = django_in_process(prefix="tongban-bench-login-", postgres=args.postgres)

    from django.contrib.auth.hashers import check_password, get_hasher
    from django.test import Client

    from tongban.accounts.models import User
    from tongban.accounts.services import login_password_step

    hasher = get_hasher()
    if hasher.algorithm in ("md5", "unsalted_md5"):
        sys.exit("the fast test hasher is configured: unset TONGBAN_FAST_PASSWORD_HASHER")
    User.objects.create_user(username="bench", password=PASSWORD)
    encoded = User.objects.get(username="bench").password

    def hash_check(_n: int) -> None:
        assert check_password(PASSWORD, encoded)

    def password_step(_n: int) -> None:
        login_password_step(username="bench", password=PASSWORD, ip_address="127.0.0.1")

    def unknown_user(n: int) -> None:
        try:
            login_password_step(
                username=f"nobody{n}",
                password=PASSWORD,
                ip_address=f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
            )
        except Exception as exc:  # InvalidCredentials, as it must be
            assert getattr(exc, "code", "") == "INVALID_CREDENTIALS", exc
        else:
            raise AssertionError("an unknown user logged in")

    def page(_n: int) -> None:
        response = Client().post("/accounts/login/", {"username": "bench", "password": PASSWORD})
        assert response.status_code == 302, response.status_code

    cases = {
        "hasher": hash_check,
        "password_step": password_step,
        "unknown_user": unknown_user,
        "page": page,
    }
    for fn in cases.values():
        fn(10**6)  # warm: imports, URLconf, templates and the first connection are not logins
    best = {name: (0.0, 0.0) for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            wall, cpu = timed(fn, args.seconds)
            best[name] = (max(best[name][0], wall), max(best[name][1], cpu))

    result = {
        "benchmark": "login",
        "database": vendor,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "hasher": f"{type(hasher).__module__}.{type(hasher).__name__}",
        "hasher_iterations": getattr(hasher, "iterations", None),
        "seconds_per_round": args.seconds,
        "rounds": args.rounds,
        "per_second": {name: round(wall, 2) for name, (wall, _) in best.items()},
        "per_cpu_second": {name: round(cpu, 2) for name, (_, cpu) in best.items()},
        "page_to_hasher_cpu": round(best["page"][1] / best["hasher"][1], 3),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"login-{vendor}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
