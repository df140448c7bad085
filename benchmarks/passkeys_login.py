"""The passkey (通行密钥) login step per core against the raw ES256 signature check, in one run.

    .venv/bin/python benchmarks/passkeys_login.py [--count 1500] [--rounds 3]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

One process (= one core), a fresh migrated database (a temporary SQLite file, or with
--postgres the scratch database DBNAME, dropped and created first). One resident with one
passkey made by the test suite's software authenticator (a real P-256 key).

- raw: `cryptography`'s ECDSA P-256 verify of one assertion's signature — the primitive.
- library: `webauthn.verify_authentication_response` of that assertion (JSON parsing,
  clientDataJSON, RP id hash, flags, counter, signature), no database.
- step: `login_passkey_step` as the login page calls it: the throttle's queries, the
  challenge taken from the session, the passkey row locked and updated, the audit row, in
  one transaction. The assertions are signed before the clock starts (signing is the
  phone's work, not the server's).
Rounds alternate; the best of each is reported, with the CPU-time rate beside the wall-clock
one (steadier on a shared machine).

Writes benchmarks/results/passkeys-login-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process


def timed(fn, count: int) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        fn(i)
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-bench-passkeys-", postgres=args.postgres)

    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from webauthn import verify_authentication_response
    from webauthn.helpers import base64url_to_bytes

    from tongban.accounts.tests.factories import ResidentProfileFactory
    from tongban.passkeys import services
    from tongban.passkeys.relying_party import RelyingParty
    from tongban.passkeys.tests.authenticator import SoftAuthenticator

    rp = RelyingParty(id="testserver", name="一网通办", origins=("http://testserver",))
    user = ResidentProfileFactory().user
    device = SoftAuthenticator()
    store: dict = {}
    options = services.passkey_registration_begin(user=user, rp=rp, store=store)
    passkey = services.passkey_register(
        user=user, name="基准测试", credential=device.create(options), rp=rp, store=store
    )

    # One assertion for raw and library (a counter that stays 0, as synced passkeys report).
    one_store: dict = {}
    one_options = services.passkey_login_begin(user=user, rp=rp, store=one_store)
    one = device.get(one_options, sign_count=0)
    auth_data = base64url_to_bytes(one["response"]["authenticatorData"])
    client_data = base64url_to_bytes(one["response"]["clientDataJSON"])
    signature = base64url_to_bytes(one["response"]["signature"])
    signed = auth_data + hashlib.sha256(client_data).digest()
    public_key = device.key.public_key()
    challenge = base64url_to_bytes(one_options["challenge"])
    cose_key = base64url_to_bytes(passkey.public_key)

    def raw(_):
        public_key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))

    def library(_):
        verify_authentication_response(
            credential=one,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=cose_key,
            credential_current_sign_count=0,
        )

    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        prepared = []
        for _ in range(args.count):
            s: dict = {}
            opts = services.passkey_login_begin(user=user, rp=rp, store=s)
            prepared.append((s, device.get(opts)))

        def step(i, prepared=prepared):
            s, answer = prepared[i]
            services.login_passkey_step(
                user=user, credential=answer, rp=rp, store=s, ip_address="10.0.0.1"
            )

        for name, fn in (("raw", raw), ("library", library), ("step", step)):
            got = timed(fn, args.count)
            if name not in best or got[1] > best[name][1]:
                best[name] = got

    figures = {
        name: {"per_second_wall": round(w), "per_second_cpu": round(c)}
        for name, (w, c) in best.items()
    }
    figures["library_to_raw_cpu"] = round(best["library"][1] / best["raw"][1], 3)
    figures["step_to_library_cpu"] = round(best["step"][1] / best["library"][1], 3)
    result = {
        "database": vendor,
        "count": args.count,
        "rounds": args.rounds,
        "python": platform.python_version(),
        "figures": figures,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"passkeys-login-{vendor}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
