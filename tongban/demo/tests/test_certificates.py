"""示例 existing certificates of the demo population: who gets what, once."""

from __future__ import annotations

from pathlib import Path

from tongban.accounts.models import Enterprise, ResidentProfile
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.models import Certificate
from tongban.certificates.selectors import certificate_verify
from tongban.certificates.services import certificate_types_load
from tongban.demo.certificates import ensure_demo_certificates
from tongban.demo.population import generate_enterprises, generate_residents

DEMO = Path(__file__).resolve().parents[1] / "definitions"


def test_demo_certificates_follow_the_profiles_and_are_issued_once(db):
    catalog_load_directory(path=DEMO)
    certificate_types_load(directory=DEMO / "certificate_types")
    generate_residents(count=40, seed=7, progress=False)
    generate_enterprises(count=6, seed=7, progress=False)
    people = ResidentProfile.objects.filter(is_synthetic=True).order_by("pk")[:30]
    expected = {
        "resident_id_card": 30,
        "household_register": sum(p.hukou_is_local for p in people),
        "marriage_certificate": sum(p.marital_status == "married" for p in people),
        "disability_certificate": sum(bool(p.disability_grade) for p in people),
        "business_license": 4,
    }
    seen = []
    issued = ensure_demo_certificates(
        max_residents=30, max_enterprises=4, progress=lambda d, t: seen.append((d, t))
    )
    counts = {code: Certificate.objects.filter(type__code=code).count() for code in expected}
    assert counts == expected
    assert issued == sum(expected.values())
    assert seen[-1] == (issued, issued)
    card = Certificate.objects.filter(type__code="resident_id_card").first()
    assert card.issued_at < card.expires_at
    assert certificate_verify(card.text).code == "valid"
    assert card.claims["id_number"] == card.holder_profile.id_number
    licence = Certificate.objects.filter(type__code="business_license").first()
    assert licence.claims["uscc"] == Enterprise.objects.get(pk=licence.holder_enterprise_id).uscc

    assert ensure_demo_certificates(max_residents=30, max_enterprises=4) == 0
    assert Certificate.objects.count() == issued
