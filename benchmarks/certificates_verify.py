"""E-certificate verification per core against the raw ES256 primitive, in one run; issuance
per second; payload size and QR version of typical certificates.

    .venv/bin/python benchmarks/certificates_verify.py [--seconds 4] [--rounds 3] [--issue 300]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

One process (= one core). A fresh database (a temporary SQLite file, or with --postgres the
database DBNAME, dropped and created first, so name a scratch one; "test" and "postgres" are
refused) is migrated and loaded with the demo catalog, the demo certificate types and a few
hundred synthetic residents and enterprises (tongban.demo.population).

- issue: `certificate_issue` back to back (居民身份证), each its own transaction with its audit
  row, status-index draw and signature.
- raw: `cryptography`'s ECDSA P-256 verify of one certificate's signature over its
  Sig_structure — the primitive, with the DER signature and the Sig_structure prepared once.
- verify_text: the full offline check of the same certificate's TB1 text: Base45, inflate
  when deflated, CBOR, COSE_Sign1, trust-list look-up, signature, status-list bit, validity.
  The status list is the decoded published one (what a verifier holds), not a database read.
- certificate_verify: what POST /api/v1/certificates/verify runs in process: verify_text with
  the revocation check against this instance's status lists — the process's copy of the bits,
  whose version is read from the database at most every TONGBAN_STATUS_REFRESH_SECONDS.
Raw, verify_text and certificate_verify alternate for ROUNDS rounds of SECONDS each, so all
see the same machine state; the best round of each is reported. The ratios to watch:
verify_text to raw (aim ≥ 0.5) and certificate_verify to verify_text (aim ≥ 0.8). On a
machine shared with other work the wall-clock rates of one round swing by 2×; the same
ratio over this process's CPU time is printed too, and is the steadier one.

Writes benchmarks/results/certificates-verify-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, ROOT, django_in_process


def prepare(postgres: str | None) -> str:
    vendor = django_in_process(prefix="tongban-bench-certs-", postgres=postgres)
    from django.core.management import call_command

    call_command("catalog_load", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    from tongban.certificates.services import certificate_types_load
    from tongban.demo.population import generate_enterprises, generate_residents

    certificate_types_load()
    generate_residents(count=500, seed=7, progress=False)
    generate_enterprises(count=50, seed=7, progress=False)
    return vendor


def id_card_claims(profile) -> dict:
    return {
        "name": profile.name,
        "sex": profile.get_sex_display(),
        "ethnicity": "汉",
        "birth_date": profile.birth_date.isoformat(),
        "address": profile.residence_address or "示例市示例路1号（示例）",
        "id_number": profile.id_number,
        "issuing_authority": "示例市公安局徐汇分局",
        "valid_from": "2020-01-01",
        "valid_until": "2040-01-01",
    }


def license_claims(enterprise) -> dict:
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "type": enterprise.get_type_display(),
        "legal_representative": enterprise.legal_representative,
        "registered_capital": f"{enterprise.registered_capital} 万元",
        "founded_on": enterprise.founded_on.isoformat(),
        "address": enterprise.address or "示例市示例路1号（示例）",
        "business_scope": "软件开发；信息技术咨询服务；技术服务（示例）",
        "registration_authority": "示例市市场监督管理局",
    }


def rate(fn, seconds: float) -> float:
    """Calls per second of FN over about SECONDS (batched so the clock is read rarely)."""
    return rates(fn, seconds)[0]


def rates(fn, seconds: float) -> tuple[float, float]:
    """Calls of FN per second of wall time and per second of this process's CPU time."""
    n, batch = 0, 64
    started, cpu = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while True:
        for _ in range(batch):
            fn()
        n += batch
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - started), n / (time.process_time() - cpu)


def size_figures(text: str) -> dict:
    from tongban.certificates import cose
    from tongban.certificates.selectors import certificate_qr_version

    signed = cose.decode_text(text)
    body = cose.base45_decode(text[len(cose.PREFIX) :])
    return {
        "cwt_payload_bytes": len(cose.sign1_decode(signed).payload),
        "cose_bytes": len(signed),
        "deflated": body[:1] == b"\x78",
        "deflated_bytes": len(zlib.compress(signed, 9)),
        "text_chars": len(text),
        "qr_version_ecc_q": certificate_qr_version(text),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--issue", type=int, default=300, help="certificates to issue")
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = prepare(args.postgres)

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from django.utils import timezone

    from tongban.accounts.models import Enterprise, ResidentProfile
    from tongban.certificates import cose, selectors, services
    from tongban.certificates import verify as v
    from tongban.certificates.models import StatusList

    profiles = list(ResidentProfile.objects.order_by("pk")[: args.issue])
    enterprise = Enterprise.objects.order_by("pk").first()
    claims = [id_card_claims(p) for p in profiles]
    services.certificate_issue(  # warm-up: makes the department key and the status list
        type_code="resident_id_card",
        holder_profile=profiles[0],
        claims=claims[0],
        actor_label="bench",
    )
    started = time.perf_counter()
    certs = [
        services.certificate_issue(
            type_code="resident_id_card", holder_profile=p, claims=c, actor_label="bench"
        )
        for p, c in zip(profiles, claims, strict=True)
    ]
    issue_seconds = time.perf_counter() - started
    licence = services.certificate_issue(
        type_code="business_license",
        holder_enterprise=enterprise,
        claims=license_claims(enterprise),
        actor_label="bench",
    )

    cert = certs[len(certs) // 2]
    text = cert.text
    trust = selectors.trust_list_current()
    bits = bytes(StatusList.objects.get(pk=cert.status_list_id).bits)
    status = v.status_lookup({cert.status_list_id: v.StatusBits(bits)})
    now = int(timezone.now().timestamp())
    assert v.verify_text(text, trust, now, status).code == "valid"
    assert selectors.certificate_verify(text).code == "valid"

    sign1 = cose.sign1_decode(cose.decode_text(text))
    public_key = trust.keys[sign1.kid].public_key
    signed_bytes = cose.sig_structure(sign1.protected, sign1.payload)
    der = encode_dss_signature(
        int.from_bytes(sign1.signature[:32], "big"), int.from_bytes(sign1.signature[32:], "big")
    )
    ecdsa = ec.ECDSA(hashes.SHA256())

    def raw():
        public_key.verify(der, signed_bytes, ecdsa)

    def full():
        v.verify_text(text, trust, now, status)

    def in_process():
        selectors.certificate_verify(text)

    raws, fulls, dbs, fulls_cpu, dbs_cpu = [], [], [], [], []
    for _ in range(args.rounds):
        raws.append(rate(raw, args.seconds))
        wall, cpu = rates(full, args.seconds)
        fulls.append(wall)
        fulls_cpu.append(cpu)
        wall, cpu = rates(in_process, args.seconds)
        dbs.append(wall)
        dbs_cpu.append(cpu)

    result = {
        "benchmark": "certificates-verify",
        "database": vendor,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rounds": args.rounds,
        "seconds_per_round": args.seconds,
        "raw_es256_verify_per_second": round(max(raws)),
        "verify_text_per_second": round(max(fulls)),
        "ratio_verify_text_to_raw": round(max(fulls) / max(raws), 3),
        "rounds_raw": [round(x) for x in raws],
        "rounds_verify_text": [round(x) for x in fulls],
        "certificate_verify_with_db_status_per_second": round(max(dbs)),
        "rounds_certificate_verify": [round(x) for x in dbs],
        "ratio_certificate_verify_to_verify_text": round(max(dbs) / max(fulls), 3),
        # Per second of CPU time: what one core does, whatever else the machine runs.
        "verify_text_per_cpu_second": round(max(fulls_cpu)),
        "certificate_verify_per_cpu_second": round(max(dbs_cpu)),
        "ratio_certificate_verify_to_verify_text_cpu": round(max(dbs_cpu) / max(fulls_cpu), 3),
        "issued": len(certs),
        "issue_per_second": round(len(certs) / issue_seconds, 1),
        "resident_id_card": size_figures(text),
        "business_license": size_figures(licence.text),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"certificates-verify-{vendor}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"database {vendor}; one process")
    print(f"raw ES256 verify        {result['raw_es256_verify_per_second']:>8}/s")
    print(
        f"verify_text (full)      {result['verify_text_per_second']:>8}/s  "
        f"ratio {result['ratio_verify_text_to_raw']}"
    )
    print(
        f"certificate_verify (DB) {result['certificate_verify_with_db_status_per_second']:>8}/s  "
        f"ratio to verify_text {result['ratio_certificate_verify_to_verify_text']}"
    )
    print(
        f"per CPU second: verify_text {result['verify_text_per_cpu_second']}/s, "
        f"certificate_verify {result['certificate_verify_per_cpu_second']}/s, "
        f"ratio {result['ratio_certificate_verify_to_verify_text_cpu']}"
    )
    print(f"certificate_issue       {result['issue_per_second']:>8}/s  ({len(certs)} issued)")
    for kind in ("resident_id_card", "business_license"):
        s = result[kind]
        print(
            f"{kind}: CWT {s['cwt_payload_bytes']} B, COSE {s['cose_bytes']} B"
            f"{' (deflated)' if s['deflated'] else ''}, text {s['text_chars']} chars, "
            f"QR version {s['qr_version_ecc_q']} (Q)"
        )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
