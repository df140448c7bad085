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

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tongban.accounts.errors import (
    AgentMayNotShowIdcode,
    AgentMayNotViewCertificates,
    EnterpriseNotFound,
    InvitationNotFound,
    LoginRequired,
    NotEnterpriseManager,
    NotYourData,
    OutsideAgentScope,
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


# What 我的/企业数据使用记录 lists: staff and platform reads, 数据共享核验 answers and consented
# third-party reads (exchange: same actions, data["channel"]), and 政策找人 match changes.
RESIDENT_DATA_USE_ACTIONS = ("personal_data.read", "personal_data.match")
ENTERPRISE_DATA_USE_ACTIONS = ("enterprise_data.read", "enterprise_data.match")

DATA_USE_CHANNEL_LABELS = {
    "staff": "工作人员查阅",
    "exchange": "数据共享核验",
    "consent": "经授权的机构查询",
    "matching": "政策系统自动比对",
}


def data_access_for(*, user: User | None, page: int | str | None = 1, per_page: int = 20):
    """我的数据使用记录: every use of USER's personal data — staff reads, department systems
    answering for a case (数据共享核验), institutions reading with the resident's consent, and
    政策找人 — newest first, as the resident is shown it: who by department or institution and
    post, never a person's name; when; which elements; for which case; for what purpose;
    under which legal basis; the source system. A Paginator page whose `object_list` are
    dicts."""
    user = _require_login(user)
    profile = ResidentProfile.objects.filter(user=user).first()
    rows = (
        AuditEvent.objects.filter(
            subject_resident_id=profile.pk, action__in=RESIDENT_DATA_USE_ACTIONS
        )
        .exclude(actor=user)
        .select_related("actor")
        .order_by("-at", "-pk")
        if profile is not None
        else AuditEvent.objects.none()
    )
    paged = Paginator(rows, per_page).get_page(page)
    sources: dict[str, Any] = {}
    paged.object_list = [_access_row(event, sources) for event in paged.object_list]
    return paged


def enterprise_data_access_for(
    *, viewer: User | None, enterprise_id: int, page: int | str | None = 1, per_page: int = 20
):
    """企业数据使用记录 for the enterprise's 法定代表人 or 管理员: every use of its data, as
    `data_access_for` shows a resident's. An agent is refused (NOT_ENTERPRISE_MANAGER, 403),
    anyone else is told the enterprise is not found; nothing is read then."""
    enterprise_authority(user=viewer, enterprise_id=enterprise_id, need=NEED_MANAGE)
    # Staff reads written before subject_enterprise_id existed name the enterprise as object.
    rows = (
        AuditEvent.objects.filter(
            Q(subject_enterprise_id=enterprise_id)
            | Q(object_type="enterprise", object_id=str(enterprise_id), subject_enterprise_id=None),
            action__in=ENTERPRISE_DATA_USE_ACTIONS,
        )
        .select_related("actor")
        .order_by("-at", "-pk")
    )
    paged = Paginator(rows, per_page).get_page(page)
    sources: dict[str, Any] = {}
    paged.object_list = [_access_row(event, sources) for event in paged.object_list]
    return paged


def _field_labels(codes: list[str], sources: dict[str, Any]) -> list[str]:
    """The words for what was read: profile fields, data elements (catalog), a source's
    elements ("source:CODE.element"), or a label the writer already gave."""
    from tongban.catalog.selectors import element_definitions

    elements = element_definitions([c for c in codes if "." in c and ":" not in c])
    labels = []
    for code in codes:
        if code in PROFILE_FIELD_LABELS or code in ENTERPRISE_FIELD_LABELS:
            labels.append(PROFILE_FIELD_LABELS.get(code) or ENTERPRISE_FIELD_LABELS[code])
        elif code in elements:
            labels.append(elements[code].label)
        elif code.startswith("source:"):
            labels.append(_source_element_label(code.removeprefix("source:"), sources))
        elif not code.isascii():
            labels.append(code)
    return [label for label in labels if label]


def _source_element_label(code: str, sources: dict[str, Any]) -> str:
    """The label of a source's element; SOURCES caches definitions for one page."""
    from tongban.exchange.selectors import data_source

    source, _, element = code.partition(".")
    if source not in sources:
        sources[source] = data_source(source)  # None for a source since removed
    definition = sources[source]
    for item in getattr(definition, "elements", None) or []:
        if item.code == element:
            return item.label
    return ""


def _access_row(event: AuditEvent, sources: dict[str, Any] | None = None) -> dict[str, Any]:
    data = event.data or {}
    sources = {} if sources is None else sources
    fields = _field_labels([str(c) for c in data.get("fields", [])], sources)
    if data.get("certificates"):
        fields.append("电子证照内容")
    if data.get("material_name"):
        fields.append(f"申请材料「{data['material_name']}」")
    receipt_no = data.get("receipt_no") or (event.object_id if event.object_type == "case" else "")
    channel = data.get("channel") or "staff"
    who = data.get("post") or staff_post_label(event.actor)
    if not who:
        who = "平台管理员" if event.actor is not None else "系统"
    basis = data.get("legal_basis") or ""
    if not basis and channel == "consent":
        basis = "本人授权"
    if not basis and receipt_no:
        basis = "依申请：办理所提交的办件"
    if channel == "consent" and data.get("consent"):
        basis = f"{basis}（授权编号 {data['consent']}）"
    return {
        "at": event.at,
        "who": who,
        "fields": [f for f in fields if f],
        "receipt_no": receipt_no,
        "purpose": event.purpose,
        "legal_basis": basis,
        "source": data.get("source_name") or "",
        "channel": channel if channel in DATA_USE_CHANNEL_LABELS else "staff",
        "channel_label": DATA_USE_CHANNEL_LABELS.get(channel, DATA_USE_CHANNEL_LABELS["staff"]),
    }


# --- 一企一档 -------------------------------------------------------------------------------

# Members who run the enterprise's account see the legal representative's name; a plain
# 经办人 only needs to recognise it.
_MEMBER_ROLES_SEEING_LEGAL_REP = frozenset(
    {EnterpriseMembership.Role.LEGAL_REPRESENTATIVE, EnterpriseMembership.Role.ADMINISTRATOR}
)


# 企业档案 fields by the words its 法定代表人 reads on 企业数据使用记录; staff reads show all.
ENTERPRISE_FIELD_LABELS = {
    "uscc": "统一社会信用代码",
    "enterprise_name": "企业名称",
    "type": "企业类型",
    "legal_representative": "法定代表人姓名",
    "legal_representative_id_number": "法定代表人身份证号码",
    "registered_capital": "注册资本",
    "industry_code": "行业代码",
    "district": "登记区",
    "address": "住所",
    "founded_on": "成立日期",
    "employees": "从业人数",
    "status": "登记状态",
}


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
    membership = live_memberships().filter(user=viewer, enterprise=enterprise).first()
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
            subject_enterprise_id=enterprise.pk,
            purpose=clean_purpose,
            ip_address=ip_address,
            data={
                "view": "full" if full else "masked",
                "roles": sorted(roles),
                "fields": list(ENTERPRISE_FIELD_LABELS),
                "post": staff_post_label(viewer),
            },
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
        live_memberships()
        .filter(user=user)
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
        # My authority here (授权范围), so the page offers only what it covers.
        display["membership_id"] = membership.pk
        display["may_manage"] = membership.role in MANAGER_ROLES
        display["my_items"] = [] if display["may_manage"] else list(membership.items)
        display["may_certificates"] = membership_allows(membership, NEED_CERTIFICATES)
        display["may_idcode"] = membership_allows(membership, NEED_IDCODE)
        display["expires_on"] = membership.expires_on
        result.append(display)
    return result


def enterprise_for_agent(*, user: User | None, enterprise_id: int) -> Enterprise:
    """The enterprise USER acts for, by id; ENTERPRISE_NOT_FOUND if they hold no live
    authority for it (whether or not it exists, so ids cannot be probed)."""
    return enterprise_membership_live(user=user, enterprise_id=enterprise_id).enterprise


def enterprise_by_uscc(*, uscc: str) -> Enterprise | None:
    """Find an enterprise by 统一社会信用代码; an invalid code raises INVALID_CREDIT_CODE."""
    return Enterprise.objects.filter(uscc=parse_credit_code(uscc).code).first()


# --- 企业授权: is a membership live now -------------------------------------------------------
#
# The one rule every use of a membership goes through (pages, API, case filing, certificates,
# 随申码, policies): accepted, neither revoked nor declined, and not past its end date. The end
# date is the last day the authority holds, counted in the city's calendar (Asia/Shanghai), so
# an authority "until 12月31日" ends at midnight in Shanghai, not in UTC.


def agent_today() -> dt.date:
    """Today in the city (settings.TIME_ZONE is Asia/Shanghai)."""
    return timezone.localdate()


def membership_live_q(prefix: str = "", *, today: dt.date | None = None) -> Q:
    """The live rule as a filter; PREFIX reaches a membership through a relation
    (e.g. "holder_enterprise__memberships__"). Use it in one .filter() call with the other
    conditions on the same membership, so they all hold for one row."""
    today = today or agent_today()
    return Q(
        **{
            f"{prefix}accepted_at__isnull": False,
            f"{prefix}revoked_at__isnull": True,
            f"{prefix}declined_at__isnull": True,
            f"{prefix}user__isnull": False,
        }
    ) & (Q(**{f"{prefix}expires_on__isnull": True}) | Q(**{f"{prefix}expires_on__gte": today}))


def membership_is_live(membership: EnterpriseMembership, *, today: dt.date | None = None) -> bool:
    """The same rule for a row already loaded."""
    today = today or agent_today()
    return (
        membership.accepted_at is not None
        and membership.revoked_at is None
        and membership.declined_at is None
        and membership.user_id is not None
        and (membership.expires_on is None or membership.expires_on >= today)
    )


def live_memberships(*, today: dt.date | None = None) -> QuerySet[EnterpriseMembership]:
    return EnterpriseMembership.objects.filter(membership_live_q(today=today))


def membership_state(membership: EnterpriseMembership, *, today: dt.date | None = None) -> str:
    """pending / live / expired / revoked / declined, for display and the API."""
    today = today or agent_today()
    if membership.declined_at is not None:
        return "declined"
    if membership.revoked_at is not None:
        return "revoked"
    if membership.expires_on is not None and membership.expires_on < today:
        return "expired"
    if membership.accepted_at is None:
        return "pending"
    return "live"


MEMBERSHIP_STATE_LABELS = {
    "pending": "待对方接受",
    "live": "有效",
    "expired": "已过期",
    "revoked": "已撤销",
    "declined": "对方已拒绝",
}

# What an authority lets its holder do (授权范围), checked by `enterprise_authority`.
NEED_APPLY, NEED_CERTIFICATES, NEED_IDCODE, NEED_MANAGE = (
    "apply",
    "certificates",
    "idcode",
    "manage",
)
MANAGER_ROLES = frozenset(
    {EnterpriseMembership.Role.LEGAL_REPRESENTATIVE, EnterpriseMembership.Role.ADMINISTRATOR}
)


def enterprise_membership_live(
    *, user: User | None, enterprise_id: int, today: dt.date | None = None, lock: bool = False
) -> EnterpriseMembership:
    """USER's live membership of the enterprise, with the enterprise loaded;
    ENTERPRISE_NOT_FOUND otherwise (whether or not it exists, so ids cannot be probed).
    LOCK (inside the caller's transaction) holds the row until it commits, so a revocation
    either lands before (and the request is refused) or waits for the request to finish."""
    user = _require_login(user)
    if not isinstance(enterprise_id, int) or not 0 < enterprise_id < 2**31:
        raise EnterpriseNotFound()
    rows = live_memberships(today=today).filter(user=user, enterprise_id=enterprise_id)
    if lock:
        rows = rows.select_for_update(of=("self",))
    membership = rows.select_related("enterprise").first()
    if membership is None:
        raise EnterpriseNotFound()
    return membership


def membership_allows(membership: EnterpriseMembership, need: str, code: str = "") -> bool:
    """Whether a live membership's scope covers NEED (and, to apply, the service CODE). The
    legal representative and administrators act on everything; an agent within its scope."""
    if membership.role in MANAGER_ROLES:
        return True
    if need == NEED_APPLY:
        return not membership.items or code in membership.items
    if need == NEED_CERTIFICATES:
        return membership.may_certificates
    if need == NEED_IDCODE:
        return membership.may_idcode
    return False


_SCOPE_REFUSALS = {
    NEED_APPLY: OutsideAgentScope,
    NEED_CERTIFICATES: AgentMayNotViewCertificates,
    NEED_IDCODE: AgentMayNotShowIdcode,
    NEED_MANAGE: NotEnterpriseManager,
}


def enterprise_authority(
    *,
    user: User | None,
    enterprise_id: int,
    need: str,
    code: str = "",
    today: dt.date | None = None,
    lock: bool = False,
) -> EnterpriseMembership:
    """USER's live membership of the enterprise if it covers NEED; ENTERPRISE_NOT_FOUND
    without a live one, else the refusal of that scope (403)."""
    membership = enterprise_membership_live(
        user=user, enterprise_id=enterprise_id, today=today, lock=lock
    )
    if not membership_allows(membership, need, code):
        raise _SCOPE_REFUSALS[need]()
    return membership


def enterprise_ids_with_authority(
    *, user: User | None, need: str, today: dt.date | None = None
) -> list[int]:
    """The enterprises USER may act for in NEED (for lists: certificates, cases)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    return [
        m.enterprise_id
        for m in live_memberships(today=today).filter(user=user)
        if membership_allows(m, need)
    ]


# --- 企业授权管理: what the legal representative / administrator and the invitee see --------


def _service_names() -> dict[str, str]:
    from tongban.catalog.selectors import bundle_list, item_list

    names = {b.code: b.name for b in bundle_list(subject="enterprise")}
    names.update({i.code: i.name for i in item_list(subject="enterprise")})
    return names


def agent_service_choices() -> list[tuple[str, str]]:
    """The services a grant may be limited to: the enterprise 一件事 and items, by name."""
    from tongban.catalog.selectors import bundle_list, item_list

    return [(b.code, f"{b.name}（一件事）") for b in bundle_list(subject="enterprise")] + [
        (i.code, i.name) for i in item_list(subject="enterprise")
    ]


def _person_name(membership: EnterpriseMembership) -> str:
    if membership.invitee_name:
        return membership.invitee_name
    if membership.user_id is None:
        return ""
    profile = getattr(membership.user, "resident_profile", None)
    if profile is not None:
        return profile.name
    return membership.user.display_name or ""


def _scope_label(membership: EnterpriseMembership, names: dict[str, str]) -> dict[str, Any]:
    if membership.role in MANAGER_ROLES:
        return {"items": "全部事项", "certificates": True, "idcode": True}
    items = "、".join(names.get(c, c) for c in membership.items) if membership.items else "全部事项"
    return {
        "items": items,
        "certificates": membership.may_certificates,
        "idcode": membership.may_idcode,
    }


def membership_display(
    membership: EnterpriseMembership,
    *,
    today: dt.date,
    names: dict[str, str] | None = None,
    viewer: User | None = None,
) -> dict[str, Any]:
    names = _service_names() if names is None else names
    state = membership_state(membership, today=today)
    scope = _scope_label(membership, names)
    return {
        "id": membership.pk,
        "name": mask_name(_person_name(membership)),
        "role": membership.role,
        "role_label": membership.get_role_display(),
        "items": list(membership.items),
        "items_label": scope["items"],
        "may_certificates": scope["certificates"],
        "may_idcode": scope["idcode"],
        "expires_on": membership.expires_on,
        "state": state,
        "state_label": MEMBERSHIP_STATE_LABELS[state],
        "is_me": viewer is not None and membership.user_id == viewer.pk,
        "open": state in ("pending", "live", "expired"),
    }


_AGENT_ACTION_LABELS = {
    "enterprise_agent.grant": "授权",
    "enterprise_agent.update": "修改授权",
    "enterprise_agent.revoke": "撤销授权",
    "enterprise_agent.accept": "接受授权",
    "enterprise_agent.decline": "拒绝授权",
    "enterprise_agent.resign": "放弃授权",
    "enterprise_membership.grant": "登记授权",
}


def _actor_display(event: AuditEvent) -> str:
    if event.actor is None:
        return "平台（系统）" if event.actor_label.startswith("system:") else "平台管理员"
    profile = getattr(event.actor, "resident_profile", None)
    if profile is not None:
        return mask_name(profile.name)
    if event.actor.kind == User.Kind.STAFF:
        return "平台管理员"
    return mask_name(event.actor.display_name or "")


def enterprise_agents_for(
    *, viewer: User | None, enterprise_id: int, today: dt.date | None = None, history: int = 30
) -> dict[str, Any]:
    """授权管理 for the legal representative or an administrator: every authority of the
    enterprise (open ones first) and the audit history of grants and revocations. Anyone
    else is refused as the enterprise's pages refuse them, and nothing is read."""
    today = today or agent_today()
    me = enterprise_authority(
        user=viewer, enterprise_id=enterprise_id, need=NEED_MANAGE, today=today
    )
    names = _service_names()
    rows = list(
        EnterpriseMembership.objects.filter(enterprise_id=enterprise_id)
        .select_related("user", "user__resident_profile")
        .order_by("-created_at", "-pk")
    )
    shown = [membership_display(m, today=today, names=names, viewer=viewer) for m in rows]
    by_id = {m.pk: m for m in rows}
    # Open authorities first (the ones one may act on), then the closed ones for the record.
    shown.sort(key=lambda r: (not r["open"], r["role"] != "legal_rep"))
    events = list(
        AuditEvent.objects.filter(
            object_type="enterprise",
            object_id=str(enterprise_id),
            action__in=list(_AGENT_ACTION_LABELS),
        )
        .select_related("actor", "actor__resident_profile")
        .order_by("-at", "-id")[:history]
    )
    trail = []
    for event in events:
        target = by_id.get(event.data.get("membership_id"))
        trail.append(
            {
                "at": event.at,
                "who": _actor_display(event),
                "what": _AGENT_ACTION_LABELS[event.action],
                "whom": mask_name(_person_name(target)) if target is not None else "",
                "role_label": (
                    EnterpriseMembership.Role(event.data["role"]).label
                    if event.data.get("role") in EnterpriseMembership.Role.values
                    else ""
                ),
            }
        )
    return {
        "enterprise": me.enterprise,
        "my_role": me.role,
        "is_legal_rep": me.role == EnterpriseMembership.Role.LEGAL_REPRESENTATIVE,
        "agents": shown,
        "history": trail,
    }


def _invitations_q(user: User) -> Q | None:
    profile = ResidentProfile.objects.filter(user=user).only("id_number_hash", "name").first()
    if profile is None:
        return None
    return Q(
        user__isnull=True,
        invitee_id_hash=profile.id_number_hash,
        invitee_name=profile.name,
        revoked_at__isnull=True,
        declined_at__isnull=True,
        accepted_at__isnull=True,
    )


def pending_invitations_qs(
    *, user: User, today: dt.date | None = None
) -> QuerySet[EnterpriseMembership]:
    """Invitations waiting for USER: made out to the ID number and name of their 一人一档,
    not answered, withdrawn or past their end date."""
    today = today or agent_today()
    where = _invitations_q(user)
    if where is None:
        return EnterpriseMembership.objects.none()
    return EnterpriseMembership.objects.filter(where).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )


def agent_invitations_for(*, user: User | None, today: dt.date | None = None) -> list[dict]:
    """企业授权邀请 on the invitee's home: which enterprise, who invited, what scope."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    today = today or agent_today()
    names = _service_names()
    rows = (
        pending_invitations_qs(user=user, today=today)
        .select_related("enterprise", "granted_by", "granted_by__resident_profile")
        .order_by("-created_at", "-pk")
    )
    result = []
    for m in rows:
        display = membership_display(m, today=today, names=names, viewer=user)
        display["enterprise_name"] = m.enterprise.name
        granter = getattr(m.granted_by, "resident_profile", None) if m.granted_by else None
        display["granted_by"] = mask_name(granter.name) if granter is not None else ""
        result.append(display)
    return result


def agent_invitation_for(*, user: User | None, membership_id: int) -> EnterpriseMembership:
    """One invitation waiting for USER; INVITATION_NOT_FOUND for anything else."""
    user = _require_login(user)
    if not isinstance(membership_id, int) or not 0 < membership_id < 2**31:
        raise InvitationNotFound()
    found = pending_invitations_qs(user=user).filter(pk=membership_id).first()
    if found is None:
        raise InvitationNotFound()
    return found


def my_enterprise_authorities(*, user: User | None, today: dt.date | None = None) -> list[dict]:
    """The authorities USER holds now (for 放弃授权 on their pages)."""
    if user is None or not user.is_authenticated:
        return []
    today = today or agent_today()
    names = _service_names()
    result = []
    for m in (
        live_memberships(today=today)
        .filter(user=user)
        .select_related("enterprise")
        .order_by("enterprise__name", "pk")
    ):
        display = membership_display(m, today=today, names=names, viewer=user)
        display["enterprise_name"] = m.enterprise.name
        result.append(display)
    return result
