"""What each 一件事 asks of the demo account it suits: materials to upload, materials spared
(and by what), fields typed and fields prefilled — the figures behind 减材料 and 减填报.

    .venv/bin/python benchmarks/journey_materials.py            # builds a scratch demo city
    .venv/bin/python benchmarks/journey_materials.py --json     # one JSON document instead

It builds its own demo city in a temporary folder (SQLite, 50 synthetic residents besides the
demo accounts), so it measures what `make run` serves, and leaves nothing behind. Answers:
出生一件事 as a married mother born in the city (the issue's walk-through); every other bundle
the first option of each question that applies.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from inspect import signature
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACCOUNTS = {
    "birth": ("resident1", None),
    "school_enrolment": ("resident1", None),
    "elderly_care": ("resident2", None),
    "disability_services": ("resident3", None),
    "social_assistance": ("resident3", None),
    "veteran_services": ("resident2", None),
    "enterprise_opening": ("agent1", None),
    "enterprise_closing": ("agent1", "first"),
}
BIRTH = {
    "applicant_relation": "mother",
    "parents_marital": "married",
    "born_in_city": "yes",
    "multiple_birth": "no",
    "hukou_follows": "mother",
    "maternity_insured": "yes",
}


def _answers(code: str) -> dict[str, str]:
    from tongban.catalog.guide import bundle_questions

    if code == "birth":
        return dict(BIRTH)
    answers: dict[str, str] = {}
    while True:
        pending = [
            q for q in bundle_questions(code=code, answers=answers)
            if q.applies and q.code not in answers
        ]  # fmt: skip
        if not pending:
            return answers
        # The demo agent founding a company is its legal representative (the first option).
        answers[pending[0].code] = pending[0].options[0].value


def measure() -> list[dict]:
    from tongban.accounts.models import Enterprise, ResidentProfile, User
    from tongban.cases.selectors import form_prefill
    from tongban.catalog.guide import guide_for_bundle
    from tongban.catalog.models import Bundle

    rows = []
    for bundle in Bundle.objects.filter(is_active=True).order_by("code"):
        username, acting = ACCOUNTS.get(bundle.code, ("resident1", None))
        user = User.objects.get(username=username)
        profile = ResidentProfile.objects.filter(user=user).first()
        enterprise = (
            Enterprise.objects.filter(memberships__user=user).order_by("pk").first()
            if acting
            else None
        )
        answers = _answers(bundle.code)
        prefill = form_prefill(
            user=user, kind="bundle", code=bundle.code, answers=answers, enterprise=enterprise
        )
        # Older versions of the guide (before persons were matched) take no `form_values`;
        # the script measures them too, for before/after figures.
        params = signature(guide_for_bundle).parameters
        extra = {"form_values": prefill} if "form_values" in params else {}
        guide = guide_for_bundle(
            code=bundle.code, answers=answers, applicant=profile, enterprise=enterprise, **extra
        )
        required = [m for m in guide.materials if m.required]
        upload = [m.name for m in required if not m.spared]
        spared = Counter(
            "produced" if getattr(m, "produced_by", "") else (m.evidence.get("kind") or "profile")
            for m in guide.materials
            if m.spared
        )
        prefilled = [f.code for f in guide.fields if prefill.get(f.code) not in (None, "")]
        rows.append(
            {
                "bundle": bundle.code,
                "name": guide.name,
                "account": username,
                "materials": len(guide.materials),
                "upload": upload,
                "spared": dict(sorted(spared.items())),
                "fields": len(guide.fields),
                "prefilled": len(prefilled),
                "typed": len(guide.fields) - len(prefilled),
                "produced_fields": len(guide.produced),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tongban-journeys-") as scratch:
        os.environ["TONGBAN_DATA_DIR"] = scratch
        os.environ.pop("DATABASE_URL", None)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
        os.environ.setdefault("TONGBAN_FAST_PASSWORD_HASHER", "1")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        with open(os.devnull, "w") as quiet:
            call_command("city_setup", residents=50, no_progress=True, stdout=quiet)
        rows = measure()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    print("| 一件事 | 账号 | 材料 | 须上传 | 免交（来源） | 字段 | 预填 | 须填写 |")
    print("|---|---|---:|---:|---|---:|---:|---:|")
    for r in rows:
        spared = "、".join(f"{k} {v}" for k, v in r["spared"].items()) or "—"
        print(
            f"| {r['name']} | {r['account']} | {r['materials']} | {len(r['upload'])} | {spared}"
            f" | {r['fields']} | {r['prefilled']} | {r['typed']} |"
        )
    for r in rows:
        if r["upload"]:
            print(f"- {r['name']}（{r['account']}）须上传：{'、'.join(r['upload'])}")


if __name__ == "__main__":
    main()
