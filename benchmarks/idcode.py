"""随申码: size of a code (payload bytes, text length, QR version at level Q) and, in one
process (= one core), verifications and scans per second against the raw ES256 primitive.

    .venv/bin/python benchmarks/idcode.py [--seconds 3] [--rounds 3] [--scans 2000]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

A fresh database (a temporary SQLite file, or with --postgres the scratch database DBNAME,
dropped and created first; "test" and "postgres" are refused) is migrated and given a few
synthetic residents (tongban.demo.population).

- raw: `cryptography`'s ECDSA P-256 verify of one code's signature over its Sig_structure,
  with the DER signature and the Sig_structure prepared once.
- verify: tongban.idcode.token.verify of the same text — Base45, strict CBOR/COSE parse,
  key look-up (cached), signature, claims, expiry. What an offline scanner runs.
- scan: services.code_scan, what POST /api/v1/idcode/scan runs in process: verify, the
  sealed subject opened, the holder read and one ScanLog insert (the replay guard; one
  statement on PostgreSQL), attributes. Every code is scanned once, since
  a second scan is a replay.
- issue: services.idcode_issue: the holder sealed into the code, signature, SVG; no write.
- round trip: `SELECT 1` through Django's cursor, this process's CPU time per statement: what
  one trip to the database costs the application before any work, and with the token check,
  the floor under a scan ("scan_floor_per_cpu_second"), since exact replay protection needs
  the scan recorded in the database before it is answered.
- svg: services.code_svg alone (tongban.idcode.qr: version 11, level Q, fixed mask), against
  segno choosing the mask itself (what it cost before).
Raw and verify alternate for ROUNDS rounds; the best round of each is reported. Issue and
scan also report this process's CPU time per operation ("…_per_cpu_second"): on a shared
machine the wall-clock rate of one process waits on the database's commits and on other
processes, while CPU time is what one core spends in the application.

Writes benchmarks/results/idcode-<db>.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process


def prepare(postgres: str | None) -> str:
    vendor = django_in_process(prefix="tongban-bench-idcode-", postgres=postgres)
    from tongban.demo.population import generate_residents

    generate_residents(count=20, seed=7, progress=False)
    return vendor


def rate(fn, seconds: float) -> float:
    n, batch = 0, 64
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            fn()
        n += batch
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = prepare(args.postgres)

    import base45
    import segno
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from tongban.accounts.models import ResidentProfile
    from tongban.certificates import cose
    from tongban.idcode import keys, services
    from tongban.idcode import token as t

    profile = ResidentProfile.objects.order_by("pk").first()
    if profile.user is None:
        profile.user = get_user_model().objects.create_user(username="bench-idcode")
        profile.save(update_fields=["user"])
    user = profile.user
    scanner, _ = services.scanner_create(
        name="基准测试终端",
        organisation="示例",
        scenario_codes=["hall_checkin"],
        actor_label="bench",
    )

    text = services.idcode_issue(user=user).text
    cose_bytes = base45.b45decode(text[len(t.PREFIX) :])
    sign1 = t.decode_cose(text)
    sizes = {
        "cwt_payload_bytes": len(sign1.payload),
        "cose_bytes": len(cose_bytes),
        "text_chars": len(text),
        "qr_version_ecc_q": services.qr_version(text),
    }

    public_key = keys.public_key_for(sign1.kid)
    signed_bytes = cose.sig_structure(sign1.protected, sign1.payload)
    der = encode_dss_signature(
        int.from_bytes(sign1.signature[:32], "big"), int.from_bytes(sign1.signature[32:], "big")
    )
    ecdsa = ec.ECDSA(hashes.SHA256())
    now = int(timezone.now().timestamp())
    assert t.verify(text, public_key_for=keys.public_key_for, now=now).result == t.OK

    def raw():
        public_key.verify(der, signed_bytes, ecdsa)

    def verify():
        t.verify(text, public_key_for=keys.public_key_for, now=now)

    raw_best = verify_best = 0.0
    for _ in range(args.rounds):
        raw_best = max(raw_best, rate(raw, args.seconds))
        verify_best = max(verify_best, rate(verify, args.seconds))

    started, cpu = time.perf_counter(), time.process_time()
    codes = [services.idcode_issue(user=user).text for _ in range(args.scans)]
    issue_per_second = args.scans / (time.perf_counter() - started)
    issue_per_cpu_second = args.scans / (time.process_time() - cpu)
    started, cpu = time.perf_counter(), time.process_time()
    results = [services.code_scan(scanner=scanner, code=c, scenario="hall_checkin") for c in codes]
    scan_per_second = args.scans / (time.perf_counter() - started)
    scan_per_cpu_second = args.scans / (time.process_time() - cpu)
    assert all(r.result == t.OK for r in results)

    from django.db import connection

    def round_trip():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    cpu = time.process_time()
    for _ in range(args.scans):
        round_trip()
    round_trip_cpu_us = (time.process_time() - cpu) / args.scans * 1e6
    cpu = time.process_time()
    for _ in range(args.scans):
        verify()
    verify_cpu_us = (time.process_time() - cpu) / args.scans * 1e6

    svg_per_second = rate(lambda: services.code_svg(text), args.seconds)
    started, sample = time.perf_counter(), 20
    for _ in range(sample):
        symbol = segno.make_qr(text, error="q", boost_error=False)
        symbol.save(io.BytesIO(), kind="svg", scale=8, xmldecl=False, title="随申码", border=4)
    segno_per_second = sample / (time.perf_counter() - started)

    result = {
        "benchmark": "idcode",
        "database": vendor,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "size": sizes,
        "per_second_one_process": {
            "raw_es256_verify": round(raw_best),
            "token_verify": round(verify_best),
            "token_verify_vs_raw": round(verify_best / raw_best, 3),
            "scan_in_process": round(scan_per_second),
            "scan_vs_raw": round(scan_per_second / raw_best, 3),
            "issue_with_svg": round(issue_per_second),
            "issue_with_svg_per_cpu_second": round(issue_per_cpu_second),
            "scan_in_process_per_cpu_second": round(scan_per_cpu_second),
            "svg": round(svg_per_second),
            "round_trip_cpu_us": round(round_trip_cpu_us),
            "token_verify_cpu_us": round(verify_cpu_us),
            "scan_floor_per_cpu_second": round(1e6 / (round_trip_cpu_us + verify_cpu_us)),
            "svg_segno_mask_search": round(segno_per_second),
        },
        "scans": args.scans,
        "seconds_per_round": args.seconds,
        "rounds": args.rounds,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"idcode-{vendor}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
