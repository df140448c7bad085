"""Every read of accounts, profiles and staff posts for pages and the API.

Who sees what of a 居民档案 (one rule, used by every page and endpoint):

- the resident themself (profile.user): not audited; ID number, phone and address masked (the
  page may be on a shared screen), sensitive attributes shown (`resident_profile_for`).
- staff: only through work they hold, which the caller (the cases app) has authorised — a case
  at their intake desk, a hand-out at their hall, a walk-in at their counter — and only for a
  use (数据使用场景) from `DATA_USES`, which fixes the purpose shown to the resident and the
  fields that work needs (`resident_profile_for_work`). There is no look-up of a profile by id
  for staff. ID number and phone are in full for the posts whose daily work is checking a
  person against their papers (acceptor, counter clerk, reviewer), masked for the others.
  Every read is an AuditEvent (`personal_data.read`) naming the use, the fields, the case and
  the reader's post, which the resident reads on 我的数据使用记录 (`data_access_for`).
- another resident or enterprise agent: refused (403), nothing written.
- anonymous: refused (401), nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db import transaction

from tongban.accounts.errors import (
    EnterpriseNotFound,
    LoginRequired,
    NotYourData,
    PurposeRequired,
    PurposeTooLong,
    StaffOnly,
)
from tongban.accounts.models import (
    District,
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.validators import (
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_credit_code,
    parse_id_number,
)
from tongban.catalog.models import Department
from tongban.common.crypto import lookup_hash
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent
from tongban.common.services import audit_record

# Posts whose daily work is checking a person's identity against their papers.
FULL_IDENTITY_ROLES = frozenset({StaffRole.ACCEPTOR, StaffRole.COUNTER_CLERK, StaffRole.REVIEWER})
PURPOSE_MAX_LENGTH = 200

ID_NUMBER_HASH_CONTEXT = "resident.id_number"

_DISTRICT_LABELS = dict(District.choices)


def resident_id_number_hash(id_number: str) -> str:
    """The keyed hash under which a validated, upper-cased ID number is stored and found."""
    return lookup_hash(id_number, context=ID_NUMBER_HASH_CONTEXT)


def id_number_unused(
    *, region_code: str, birth_date, sex: str, seed: int = 0, also_taken: frozenset = frozenset()
) -> str:
    """A 公民身份号码 for a newborn that no profile holds (出生登记编制身份号码): REGION_CODE
    (six digits of the household's district), the birth date, a three-digit 顺序码 whose
    last digit is odd for a boy (SEX "M") and even for a girl, and the ISO 7064 MOD 11-2
    check character. The 顺序码 is tried from SEED onwards, 50 at a time in one query each;
    numbers in ALSO_TAKEN (given out but not yet on a profile) are skipped too. Empty if
    REGION_CODE is not six digits or every 顺序码 of that day is taken."""
    from tongban.accounts.validators import id_number_check_char

    if len(region_code) != 6 or not region_code.isdigit():
        return ""
    parity = 1 if sex == "M" else 0
    body = f"{region_code}{birth_date:%Y%m%d}"
    # 顺序码 001–999 of the right parity, in a fixed order starting from SEED.
    codes = [n for n in range(1, 1000) if n % 2 == parity]
    start = seed % len(codes)
    codes = codes[start:] + codes[:start]
    for i in range(0, len(codes), 50):
        numbers = [
            f"{body}{n:03d}" + id_number_check_char(f"{body}{n:03d}") for n in codes[i : i + 50]
        ]
        hashes = {resident_id_number_hash(n): n for n in numbers}
        taken = set(
            ResidentProfile.objects.filter(id_number_hash__in=hashes).values_list(
                "id_number_hash", flat=True
            )
        )
        for h, number in hashes.items():
            if h not in taken and number not in also_taken:
                return number
    return ""


# --- staff ----------------------------------------------------------------------------------


def staff_roles_of(user: User | None) -> set[str]:
    """Every role USER holds, in any department (empty for residents and anonymous)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    return set(StaffAssignment.objects.filter(user=user).values_list("role", flat=True))


def staff_roles_in(user: User | None, department: Department) -> set[str]:
    """The roles USER holds in one DEPARTMENT: what a department's task queue should check."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    return set(
        StaffAssignment.objects.filter(user=user, department=department).values_list(
            "role", flat=True
        )
    )


def staff_departments_of(user: User | None) -> list[Department]:
    """The departments USER holds a post in, ordered by department code."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    return list(Department.objects.filter(staff_assignments__user=user).distinct().order_by("code"))


def is_staff_member(user: User | None) -> bool:
    """Staff = holds at least one post. `User.kind` alone grants nothing."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return StaffAssignment.objects.filter(user=user).exists()


def staff_posts_of(user: User | None) -> list[dict[str, Any]]:
    """[{department, roles: [{code, label}]}] for the 工作台, one entry per department."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    labels = dict(StaffRole.choices)
    posts: dict[int, dict[str, Any]] = {}
    rows = (
        StaffAssignment.objects.filter(user=user)
        .select_related("department")
        .order_by("department__code", "role")
    )
    for row in rows:
        entry = posts.setdefault(row.department_id, {"department": row.department, "roles": []})
        entry["roles"].append({"code": row.role, "label": labels.get(row.role, row.role)})
    return list(posts.values())


# --- 一人一档 -------------------------------------------------------------------------------


def resident_profile_by_id_number(*, id_number: str) -> ResidentProfile | None:
    """Find a profile by ID number through its keyed hash (the column itself is encrypted).

    Returns the row, not a display: callers show it through `resident_profile_for`, which
    masks and audits. An invalid number raises INVALID_ID_NUMBER rather than finding nothing.
    """
    number = parse_id_number(id_number).number
    return ResidentProfile.objects.filter(id_number_hash=resident_id_number_hash(number)).first()


def resident_profile_of(user: User | None) -> ResidentProfile | None:
    if user is None or not user.is_authenticated:
        return None
    return ResidentProfile.objects.filter(user=user).first()


def _clean_purpose(purpose: str | None) -> str:
    value = (purpose or "").strip()
    if not value:
        raise PurposeRequired()
    if len(value) > PURPOSE_MAX_LENGTH:
        raise PurposeTooLong()
    return value


def _resident_display(profile: ResidentProfile, *, full: bool, attributes: bool) -> dict:
    data: dict[str, Any] = {
        "id": profile.pk,
        "name": profile.name,
        "id_number": profile.id_number if full else mask_id_number(profile.id_number),
        "phone": profile.phone if full else mask_phone(profile.phone),
        "masked": not full,
        "sex": profile.sex,
        "sex_label": profile.get_sex_display(),
        "birth_date": profile.birth_date,
        "hukou_district": profile.hukou_district,
        "hukou_district_label": _DISTRICT_LABELS.get(profile.hukou_district, ""),
        "hukou_is_local": profile.hukou_is_local,
        "residence_district": profile.residence_district,
        "residence_district_label": _DISTRICT_LABELS.get(profile.residence_district, ""),
        "residence_address": (
            profile.residence_address if full else mask_address(profile.residence_address)
        ),
        "attributes": None,
    }
    if attributes:
        data["attributes"] = {
            "marital_status": profile.marital_status,
            "marital_status_label": profile.get_marital_status_display(),
            "disability_grade": profile.disability_grade,
            "is_veteran": profile.is_veteran,
            "is_low_income": profile.is_low_income,
            "is_minimum_living_allowance": profile.is_minimum_living_allowance,
            "has_residence_permit": profile.has_residence_permit,
            "employment_status": profile.employment_status,
        }
    return data


def _require_login(viewer: User | None) -> User:
    if viewer is None or not viewer.is_authenticated or not viewer.is_active:
        raise LoginRequired()
    return viewer


def resident_profile_for(*, viewer: User | None, profile: ResidentProfile) -> dict[str, Any]:
    """The resident's own profile, masked for a shared screen. Staff read profiles only
    through `resident_profile_for_work`; anyone else is refused and nothing is written."""
    viewer = _require_login(viewer)
    if profile.user_id is None or profile.user_id != viewer.pk:
        raise NotYourData()
    return _resident_display(profile, full=False, attributes=True)


@dataclass(frozen=True)
class DataUse:
    """数据使用场景 — a piece of staff work that needs a resident's profile: the purpose the
    resident is shown and the profile fields that work needs (and all it gets)."""

    code: str
    purpose: str
    fields: tuple[str, ...]


# The fields are those the page of that work shows; adding a field here is a decision about
# what staff may see, so it is made here, once.
DATA_USES: dict[str, DataUse] = {
    use.code: use
    for use in (
        DataUse("intake_review", "受理审查：核对申请人身份", ("name", "id_number", "phone", "sex")),
        DataUse(
            "counter_identify", "综合窗口帮办：核验来办群众身份", ("name", "id_number", "phone")
        ),
        DataUse("handout_identify", "统一窗口出件：核对领取人", ("name", "id_number", "phone")),
        DataUse(
            "eligibility_review",
            "资格复核：核对享受中的政策待遇是否仍符合条件",
            ("name", "birth_date"),
        ),
    )
}

# Profile fields by the words the resident reads on 我的数据使用记录.
PROFILE_FIELD_LABELS = {
    "name": "姓名",
    "id_number": "公民身份号码",
    "phone": "联系电话",
    "sex": "性别",
    "birth_date": "出生日期",
    "residence_address": "居住地址",
}


def staff_post_label(user: User | None, department: Department | None = None) -> str:
    """The reader as the resident is told of them: department and post, never a name
    (示例市公安局（审核岗）). The post in DEPARTMENT when given and held, else the first held."""
    if user is None:
        return ""
    posts = StaffAssignment.objects.filter(user=user).select_related("department")
    if department is not None and posts.filter(department=department).exists():
        posts = posts.filter(department=department)
    post = posts.order_by("department__code", "role").first()
    if post is None:
        return ""
    return f"{post.department.name}（{post.get_role_display()}岗）"


def resident_profile_for_work(
    *,
    viewer: User | None,
    profile: ResidentProfile,
    use: str,
    receipt_no: str = "",
    department: Department | None = None,
    ip_address: str | None = None,
) -> dict[str, Any]:
    """What a staff member's work (USE) needs of PROFILE, audited with the use, the fields,
    the case and the reader's post. The caller has already checked that VIEWER holds this work
    (the cases app: intake desk, hall, counter); this layer guarantees the fields, masking
    and the trail. Raises LOGIN_REQUIRED, STAFF_ONLY or DATA_USE_UNKNOWN; nothing is written
    when it raises."""
    viewer = _require_login(viewer)
    roles = staff_roles_of(viewer)
    if not roles:
        raise StaffOnly()
    chosen = DATA_USES.get(use)
    if chosen is None:
        raise InvalidInput(f"数据使用场景只能是：{'、'.join(DATA_USES)}", code="DATA_USE_UNKNOWN")
    full = bool(roles & FULL_IDENTITY_ROLES)
    shown = _resident_display(profile, full=full, attributes=False)
    display: dict[str, Any] = {"id": profile.pk, "masked": not full, "purpose": chosen.purpose}
    for field in chosen.fields:
        display[field] = shown[field]
        if f"{field}_label" in shown:
            display[f"{field}_label"] = shown[f"{field}_label"]
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action="personal_data.read",
            object_type="case" if receipt_no else "resident_profile",
            object_id=receipt_no or profile.pk,
            subject_resident_id=profile.pk,
            purpose=chosen.purpose,
            ip_address=ip_address,
            data={
                "use": chosen.code,
                "fields": list(chosen.fields),
                "view": "full" if full else "masked",
                "receipt_no": receipt_no,
                "post": staff_post_label(viewer, department),
            },
        )
    return display


def data_access_for(*, user: User | None, page: int | str | None = 1, per_page: int = 20):
    """我的数据使用记录: every read of USER's personal data by staff (and the platform's own
    processes), newest first, as the resident is shown it — who by department and post, never
    a person's name; when; which fields; for which case; for what purpose. A Paginator page
    whose `object_list` are dicts."""
    user = _require_login(user)
    profile = ResidentProfile.objects.filter(user=user).first()
    rows = (
        AuditEvent.objects.filter(subject_resident_id=profile.pk, action="personal_data.read")
        .exclude(actor=user)
        .select_related("actor")
        .order_by("-at", "-pk")
        if profile is not None
        else AuditEvent.objects.none()
    )
    paged = Paginator(rows, per_page).get_page(page)
    paged.object_list = [_access_row(event) for event in paged.object_list]
    return paged


def _access_row(event: AuditEvent) -> dict[str, Any]:
    from tongban.catalog.selectors import element_definitions

    data = event.data or {}
    codes = [str(c) for c in data.get("fields", [])]
    elements = element_definitions([c for c in codes if "." in c])
    fields = [
        PROFILE_FIELD_LABELS.get(c) or (elements[c].label if c in elements else "") for c in codes
    ]
    if data.get("certificates"):
        fields.append("电子证照内容")
    if data.get("material_name"):
        fields.append(f"申请材料「{data['material_name']}」")
    receipt_no = data.get("receipt_no") or (event.object_id if event.object_type == "case" else "")
    who = data.get("post") or staff_post_label(event.actor)
    if not who:
        who = "平台管理员" if event.actor is not None else "系统"
    return {
        "at": event.at,
        "who": who,
        "fields": [f for f in fields if f],
        "receipt_no": receipt_no,
        "purpose": event.purpose,
    }


# --- 一企一档 -------------------------------------------------------------------------------

# Members who run the enterprise's account see the legal representative's name; a plain
# 经办人 only needs to recognise it.
_MEMBER_ROLES_SEEING_LEGAL_REP = frozenset(
    {EnterpriseMembership.Role.LEGAL_REPRESENTATIVE, EnterpriseMembership.Role.ADMINISTRATOR}
)


def _enterprise_display(enterprise: Enterprise, *, rep_name_full: bool, rep_id_full: bool):
    return {
        "id": enterprise.pk,
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "type": enterprise.type,
        "type_label": enterprise.get_type_display(),
        "legal_representative": (
            enterprise.legal_representative
            if rep_name_full
            else mask_name(enterprise.legal_representative)
        ),
        "legal_representative_id_number": (
            enterprise.legal_representative_id_number
            if rep_id_full
            else mask_id_number(enterprise.legal_representative_id_number)
        ),
        "registered_capital": enterprise.registered_capital,
        "industry_code": enterprise.industry_code,
        "district": enterprise.district,
        "district_label": _DISTRICT_LABELS.get(enterprise.district, ""),
        "address": enterprise.address,
        "founded_on": enterprise.founded_on,
        "employees": enterprise.employees,
        "status": enterprise.status,
        "status_label": enterprise.get_status_display(),
    }


def enterprise_profile_for(
    *,
    viewer: User | None,
    enterprise: Enterprise,
    purpose: str | None = None,
    ip_address: str | None = None,
) -> dict[str, Any]:
    """The display of a 企业档案 for VIEWER.

    Members of the enterprise see it without a purpose: the legal representative's name in
    full if they are its 法定代表人 or 管理员, masked for a 经办人; the representative's ID
    number is always masked for members. Staff must give a purpose, are audited
    (`enterprise_data.read`), and see the representative in full only with a case-handling
    role (as for residents). Anyone else is refused and nothing is written.
    """
    viewer = _require_login(viewer)
    membership = EnterpriseMembership.objects.filter(user=viewer, enterprise=enterprise).first()
    if membership is not None:
        display = _enterprise_display(
            enterprise,
            rep_name_full=membership.role in _MEMBER_ROLES_SEEING_LEGAL_REP,
            rep_id_full=False,
        )
        display["my_role"] = membership.role
        display["my_role_label"] = membership.get_role_display()
        return display
    roles = staff_roles_of(viewer)
    if not roles:
        raise NotYourData("无权查看该企业的信息")
    clean_purpose = _clean_purpose(purpose)
    full = bool(roles & FULL_IDENTITY_ROLES)
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action="enterprise_data.read",
            object_type="enterprise",
            object_id=enterprise.pk,
            purpose=clean_purpose,
            ip_address=ip_address,
            data={"view": "full" if full else "masked", "roles": sorted(roles)},
        )
    display = _enterprise_display(enterprise, rep_name_full=True, rep_id_full=full)
    display["my_role"] = ""
    display["my_role_label"] = ""
    return display


def enterprises_for_agent(*, user: User | None) -> list[dict[str, Any]]:
    """The enterprises USER may act for, each as its member display (with `my_role`),
    ordered by name. Reading one's own enterprises is not audited."""
    user = _require_login(user)
    memberships = (
        EnterpriseMembership.objects.filter(user=user)
        .select_related("enterprise")
        .order_by("enterprise__name", "enterprise__pk")
    )
    result = []
    for membership in memberships:
        display = _enterprise_display(
            membership.enterprise,
            rep_name_full=membership.role in _MEMBER_ROLES_SEEING_LEGAL_REP,
            rep_id_full=False,
        )
        display["my_role"] = membership.role
        display["my_role_label"] = membership.get_role_display()
        result.append(display)
    return result


def enterprise_for_agent(*, user: User | None, enterprise_id: int) -> Enterprise:
    """The enterprise USER acts for, by id; ENTERPRISE_NOT_FOUND if they are not a member
    (whether or not it exists, so ids cannot be probed)."""
    user = _require_login(user)
    membership = (
        EnterpriseMembership.objects.filter(user=user, enterprise_id=enterprise_id)
        .select_related("enterprise")
        .first()
    )
    if membership is None:
        raise EnterpriseNotFound()
    return membership.enterprise


def enterprise_by_uscc(*, uscc: str) -> Enterprise | None:
    """Find an enterprise by 统一社会信用代码; an invalid code raises INVALID_CREDIT_CODE."""
    return Enterprise.objects.filter(uscc=parse_credit_code(uscc).code).first()
