"""示例 — certificates the demo population already held before the platform (存量证照).

Every resident gets a 居民身份证 and, with a local hukou, a 户口簿; the married a 结婚证, the
disabled a 残疾人证; every enterprise a 营业执照. Each is signed now, like any other certificate
(its `iat` is the real signing time: a key vouches for nothing before it existed); the day the
paper certificate was first issued is the type's own date claim (有效期起始日期, 登记日期,
发证日期, 成立日期), and validity counts from that day (`valid_from`). Signing costs about 2 ms
each on SQLite, so only the demo accounts' people and enterprises plus the first MAX_RESIDENTS
residents and MAX_ENTERPRISES enterprises (by id) get them: the rest of a large synthetic
population holds none. Each certificate's
`issuance_key` ("demo:<type>:<holder>") makes a second run issue nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile
from tongban.accounts.selectors import resident_id_number_hash
from tongban.certificates.models import Certificate, CertificateType
from tongban.certificates.services import certificate_issue
from tongban.demo.accounts import demo_people_id_numbers, demo_spouses

MAX_RESIDENTS = 2000
MAX_ENTERPRISES = 200
BATCH = 250
ACTOR = "system:demo"
ETHNICITY = "汉"


def _days_ago(seed: int, low: int, high: int) -> dt.datetime:
    """A deterministic past moment between LOW and HIGH days ago, so reruns agree."""
    days = low + (seed * 7919) % max(1, high - low)
    moment = timezone.now() - dt.timedelta(days=days)
    return moment.replace(hour=2, minute=0, second=0, microsecond=0)


def _district(profile: ResidentProfile) -> str:
    return profile.get_hukou_district_display() or profile.get_residence_district_display() or ""


def _address(profile: ResidentProfile) -> str:
    return profile.residence_address or f"示例市{_district(profile)}示例路{profile.pk % 500 + 1}号"


def _resident_plan(
    p: ResidentProfile, spouses: dict[str, tuple[str, str]] | None = None
) -> Iterator[tuple[str, dict, dt.datetime]]:
    issued = _days_ago(p.pk, 30, 3600)
    yield (
        "resident_id_card",
        {
            "name": p.name,
            "sex": p.get_sex_display(),
            "ethnicity": ETHNICITY,
            "birth_date": p.birth_date.isoformat(),
            "address": _address(p),
            "id_number": p.id_number,
            "issuing_authority": f"示例市公安局{_district(p)}分局",
            "valid_from": timezone.localtime(issued).date().isoformat(),
        },
        issued,
    )
    if p.hukou_is_local:
        registered = _days_ago(p.pk + 1, 365, 7000)
        yield (
            "household_register",
            {
                "household_number": f"{p.hukou_district or '310000'}{p.pk:08d}",
                "household_head": p.name,
                "address": _address(p),
                "name": p.name,
                "id_number": p.id_number,
                "relation_to_head": "户主",
                "registered_on": timezone.localtime(registered).date().isoformat(),
            },
            registered,
        )
    if p.marital_status == ResidentProfile.MaritalStatus.MARRIED:
        married = _days_ago(p.pk + 2, 200, 9000)
        # A demo couple's certificates name each other; the synthetic population has no
        # spouses on record, so theirs say so.
        spouse = (spouses or {}).get(p.id_number, ("（示例）配偶", "（示例）未登记"))
        yield (
            "marriage_certificate",
            {
                "certificate_no": f"J{p.hukou_district or '310000'}-{p.pk:08d}",
                "holder_name": p.name,
                "holder_id_number": p.id_number,
                "spouse_name": spouse[0],
                "spouse_id_number": spouse[1],
                "registered_on": timezone.localtime(married).date().isoformat(),
                "registry": f"示例市{_district(p)}民政局婚姻登记处",
            },
            married,
        )
    if p.disability_grade:
        issued_on = _days_ago(p.pk + 3, 30, 3000)
        yield (
            "disability_certificate",
            {
                "certificate_no": f"{p.id_number}{p.disability_grade}1",
                "name": p.name,
                "id_number": p.id_number,
                "disability_category": "肢体残疾",
                "disability_grade": int(p.disability_grade),
                "issued_on": timezone.localtime(issued_on).date().isoformat(),
            },
            issued_on,
        )


def _enterprise_plan(e: Enterprise) -> Iterator[tuple[str, dict, dt.datetime]]:
    founded = dt.datetime.combine(e.founded_on, dt.time(2), tzinfo=dt.UTC)
    yield (
        "business_license",
        {
            "uscc": e.uscc,
            "name": e.name,
            "type": e.get_type_display(),
            "legal_representative": e.legal_representative or "（示例）未登记",
            "registered_capital": f"{e.registered_capital} 万元",
            "founded_on": e.founded_on.isoformat(),
            "address": e.address or f"示例市{e.get_district_display()}",
            "business_scope": "（示例）一般项目：技术服务、技术开发",
            "registration_authority": f"示例市{e.get_district_display()}市场监督管理局",
        },
        min(founded, timezone.now()),
    )


def ensure_demo_certificates(
    *,
    max_residents: int = MAX_RESIDENTS,
    max_enterprises: int = MAX_ENTERPRISES,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Issue the demo population's existing certificates that are missing; returns how many
    were issued (0 on a second run)."""
    active = set(CertificateType.objects.filter(is_active=True).values_list("code", flat=True))
    if not active:
        return 0  # types not loaded (a checkout without definitions): nothing to issue
    demo_hashes = [resident_id_number_hash(n) for n in demo_people_id_numbers()]
    named = ResidentProfile.objects.filter(is_synthetic=True).filter(
        Q(user__isnull=False) | Q(id_number_hash__in=demo_hashes)
    )
    first = ResidentProfile.objects.filter(is_synthetic=True).order_by("pk")[:max_residents]
    residents = list({p.pk: p for p in [*named, *first]}.values())
    spouses = demo_spouses()
    agents = Enterprise.objects.filter(is_synthetic=True, memberships__isnull=False).distinct()
    firsts = Enterprise.objects.filter(is_synthetic=True).order_by("pk")[:max_enterprises]
    enterprises = {e.pk: e for e in list(agents) + list(firsts)}.values()
    have = set(
        Certificate.objects.filter(issuance_key__startswith="demo:").values_list(
            "issuance_key", flat=True
        )
    )
    wanted: list[tuple[str, str, dict, dt.datetime, ResidentProfile | None, Enterprise | None]] = []
    for p in residents:
        for code, claims, at in _resident_plan(p, spouses):
            wanted.append((f"demo:{code}:p{p.pk}", code, claims, at, p, None))
    for e in enterprises:
        for code, claims, at in _enterprise_plan(e):
            wanted.append((f"demo:{code}:e{e.pk}", code, claims, at, None, e))
    todo = [w for w in wanted if w[0] not in have and w[1] in active]
    issued = 0
    for start in range(0, len(todo), BATCH):
        # One transaction per batch: SQLite commits are the slow part, not the signatures.
        with transaction.atomic():
            for key, code, claims, at, profile, enterprise in todo[start : start + BATCH]:
                cert = certificate_issue(
                    type_code=code,
                    holder_profile=profile,
                    holder_enterprise=enterprise,
                    claims=claims,
                    actor_label=ACTOR,
                    valid_from=at,
                )
                Certificate.objects.filter(pk=cert.pk).update(issuance_key=key)
                issued += 1
        if progress is not None:
            progress(issued, len(todo))
    return issued
