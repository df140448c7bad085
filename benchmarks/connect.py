"""OIDC token issuance per second, and the same API read with a bearer token against the
session cookie, in one run.

    .venv/bin/python benchmarks/connect.py [--seconds 10] [--connections 8] [--workers 2]
        [--logins 300] [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

One fresh data folder (migrate + city_setup with its 示例接入应用), then:

1. In process (one core): complete OIDC logins of the demo 随申办 app (public client, PKCE):
   GET /oauth/authorize/ with the consent already given → 302 with a code → POST
   /oauth/token/ with the code verifier → access, refresh and RS256-signed ID token. LOGINS of
   them, through Django's test client; the figure is logins per second and per CPU second.
2. Over HTTP (gunicorn, sync workers, wrk): POST /oauth/token/ client_credentials by the demo
   民政局 system (confidential: its secret checked against the salted SHA-256 it is stored
   as, tongban/connect/hashers.py), GET /api/v1/me/cases for resident1 with the session
   cookie and with a bearer token of the app, and the ceiling GET /api/v1/health. The server
   runs with production's hashers (without TONGBAN_FAST_PASSWORD_HASHER).

With --postgres the database DBNAME is used as a scratch database (dropped and recreated;
"test" and "postgres" are refused). Writes benchmarks/results/connect-<db>.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import PY, RESULTS, ROOT, ensure_wrk, gunicorn, postgres_admin, prepared_env, wrk

PREPARE = textwrap.dedent(
    """
    import datetime as dt, json, secrets
    from django.test import Client
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, get_application_model
    from tongban.accounts.models import User
    from tongban.demo.connect import APP_ID, SYSTEM_ID, demo_client_secret

    Application = get_application_model()
    system = Application.objects.get(client_id=SYSTEM_ID)
    resident = User.objects.get(username="resident1")
    browser = Client()
    browser.force_login(resident)
    token = secrets.token_urlsafe(30)
    AccessToken.objects.create(
        user=resident, application=Application.objects.get(client_id=APP_ID), token=token,
        scope="openid me", expires=timezone.now() + dt.timedelta(hours=2),
    )
    print(json.dumps({"cookie": browser.cookies["sessionid"].value, "token": token,
                      "secret": demo_client_secret(SYSTEM_ID), "hash": system.client_secret[:20]}))
    """
)

LOGINS = textwrap.dedent(
    """
    import base64, hashlib, json, os, secrets, time
    from urllib.parse import parse_qs, urlencode, urlsplit
    from django.test import Client
    from tongban.accounts.models import User
    from tongban.connect.models import ConnectedClient
    from tongban.connect.services import consent_grant
    from tongban.demo.connect import APP_ID

    n = int(os.environ["BENCH_LOGINS"])
    user = User.objects.get(username="resident1")
    app = ConnectedClient.objects.get(application__client_id=APP_ID)
    consent_grant(user=user, client=app, scopes=["openid", "profile", "me"])
    redirect = app.application.redirect_uris.split()[0]
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(user)

    def login():
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode({"response_type": "code", "client_id": APP_ID, "redirect_uri": redirect,
                           "scope": "openid profile me", "state": "s", "nonce": "n",
                           "code_challenge": challenge.rstrip(b"=").decode(),
                           "code_challenge_method": "S256"})
        r = browser.get("/oauth/authorize/?" + query)
        assert r.status_code == 302, r.status_code
        code = parse_qs(urlsplit(r["Location"]).query)["code"][0]
        t = browser.post("/oauth/token/", {"grant_type": "authorization_code", "code": code,
                         "redirect_uri": redirect, "client_id": APP_ID, "code_verifier": verifier})
        assert t.status_code == 200 and "id_token" in t.json(), t.content

    for _ in range(20):
        login()  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        login()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"logins": n, "seconds": wall, "cpu_seconds": cpu}))
    """
)


def wrk_form(url: str, *, seconds: int, connections: int, body: str, headers: dict) -> dict:
    """wrk with a form body (benchmarks/wrk_form.lua); the same RESULT line as wrk()."""
    extra = [arg for k, v in headers.items() for arg in ("-H", f"{k}: {v}")]
    out = subprocess.run(
        [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", *extra,
         "-s", str(ROOT / "benchmarks" / "wrk_form.lua"), url],
        env={**os.environ, "WRK_BODY": body}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    return {k: float(v) for k, v in (part.split("=") for part in line.split()[1:])}


def shell(env: dict[str, str], code: str) -> dict:
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--logins", type=int, default=300)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()

    if args.postgres:
        postgres_admin(args.postgres, create=True)
    env, data_dir = prepared_env(args.postgres or None, residents=args.residents)
    # From here on production's hashers, as a deployment runs.
    env.pop("TONGBAN_FAST_PASSWORD_HASHER", None)
    prepared = shell(env, PREPARE)
    assert prepared["hash"].startswith("client_secret_sha256"), prepared["hash"]
    logins = shell({**env, "BENCH_LOGINS": str(args.logins)}, LOGINS)

    basic = base64.b64encode(f"demo-mzj-system:{prepared['secret']}".encode()).decode()
    runs = [
        ("ceiling: GET /api/v1/health", "/api/v1/health", "", {}),
        (
            "token: POST /oauth/token/ client_credentials (民政局系统)",
            "/oauth/token/",
            "grant_type=client_credentials",
            {"Authorization": f"Basic {basic}"},
        ),
        ("me/cases with session cookie", "/api/v1/me/cases", "",
         {"Cookie": f"sessionid={prepared['cookie']}"}),
        ("me/cases with bearer token", "/api/v1/me/cases", "",
         {"Authorization": f"Bearer {prepared['token']}"}),
    ]  # fmt: skip
    rows = []
    with gunicorn(env, workers=args.workers) as base:
        for warm in (True, False):
            for label, path, body, headers in runs:
                run = wrk_form if body else wrk
                r = run(
                    base + path,
                    seconds=2 if warm else args.seconds,
                    connections=2 if warm else args.connections,
                    body=body,
                    headers=headers,
                )
                if not warm:
                    rows.append({"endpoint": label, **r})
    shutil.rmtree(data_dir, ignore_errors=True)
    if args.postgres:
        postgres_admin(args.postgres, create=False)

    db = "PostgreSQL" if args.postgres else "SQLite"
    per_second = logins["logins"] / logins["seconds"]
    per_cpu = logins["logins"] / logins["cpu_seconds"]
    print(f"\n接入管理 — {db}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print(f"OIDC logins (authorize with remembered consent + token with PKCE, RS256 ID token), "
          f"one process: {per_second:.0f}/s wall, {per_cpu:.0f} per CPU second "
          f"({logins['logins']} logins)\n")  # fmt: skip
    print(f"gunicorn {args.workers} sync workers, wrk 1 thread {args.connections} connections "
          f"{args.seconds}s\n")  # fmt: skip
    print("| endpoint | req/s | p50 ms | p95 ms | ratio to ceiling | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    ceiling = rows[0]["rps"]
    for r in rows:
        errors = int(r["errors"] + r["non2xx"])
        print(f"| {r['endpoint']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
              f"{r['rps'] / ceiling:.2f} | {errors} |")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"connect-{db.lower()}.json"
    result = {"database": db, "args": vars(args), "oidc_logins": logins, "rows": rows}
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
