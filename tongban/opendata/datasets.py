"""The datasets of 开放数据: what each one publishes and where its rows come from.

The registry is code, not YAML. The catalog's definitions are YAML because service owners
review and version them without touching code; a dataset is the opposite: its rows come from
a function reading another app's selectors, its columns are that function's output, and its
suppression rules are code too. A YAML file would still have to name the function, so a
change to a dataset is a code change either way, reviewed with the code that fills it.

Every dataset publishes only the columns declared here; rows are built from definitions and
aggregate counts and never from a person's records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Max

from tongban.opendata.suppression import Rate, suppressed_row

# The EU Vocabularies' authority tables, as DCAT-AP expects for these properties.
FREQUENCY_URI = "http://publications.europa.eu/resource/authority/frequency/"
THEME_URI = "http://publications.europa.eu/resource/authority/data-theme/"

FREQUENCY_LABELS = {"IRREG": "不定期（定义变更后即更新）", "MONTHLY": "每月"}
THEME_LABELS = {"GOVE": "政府和公共部门", "SOCI": "人口与社会", "ECON": "经济与金融"}
KIND_LABELS = {
    "text": "文本",
    "integer": "整数",
    "number": "数值",
    "boolean": "是/否",
    "date": "日期",
}


@dataclass(frozen=True)
class Column:
    name: str  # the stable key in JSON and the API
    title: str  # the CSV header and what the pages show
    kind: str  # a KIND_LABELS key
    description: str = ""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Dataset:
    id: str
    title: str
    # May name {min_cell}: the suppression threshold in force is filled in when read.
    description: str
    keywords: tuple[str, ...]
    themes: tuple[str, ...]
    frequency: str
    columns: tuple[Column, ...]
    build: Callable[[], list[dict[str, Any]]]
    # When the source last changed, where the source records it; None: computed live, so it
    # is as new as the moment the rows were built.
    source_modified: Callable[[], dt.datetime | None] | None = None

    @property
    def description_text(self) -> str:
        return self.description.format(min_cell=settings.TONGBAN_OPENDATA_MIN_CELL)

    @property
    def frequency_label(self) -> str:
        return FREQUENCY_LABELS[self.frequency]

    @property
    def frequency_uri(self) -> str:
        return FREQUENCY_URI + self.frequency

    @property
    def theme_labels(self) -> list[str]:
        return [THEME_LABELS[t] for t in self.themes]

    @property
    def theme_uris(self) -> list[str]:
        return [THEME_URI + t for t in self.themes]

    def rows(self) -> list[dict[str, Any]]:
        names = [c.name for c in self.columns]
        return [{name: row[name] for name in names} for row in self.build()]


# ---------------------------------------------------------------- 政务服务事项 and 一件事


def _service_item_rows() -> list[dict[str, Any]]:
    from tongban.catalog import selectors as catalog
    from tongban.catalog.guide import CHANNEL_LABELS, HANDLING_LABELS

    definitions, _ = catalog.current_definitions()
    rows = []
    for item in catalog.item_list():
        d = definitions[item.code]
        rows.append(
            {
                "code": item.code,
                "name": d.name,
                "department_code": item.department,
                "department_name": item.department_name,
                "item_type": d.type,
                "subject": catalog.SUBJECT_LABELS[d.subject],
                "handling": HANDLING_LABELS[d.handling],
                "statutory_days": d.time_limit.statutory_days,
                "promised_days": d.time_limit.promised_days,
                "visits": d.visits,
                "channels": "、".join(CHANNEL_LABELS[c] for c in d.channels),
                "online": item.online,
                "materials": len(d.materials),
                "materials_waivable": sum(1 for m in d.materials if m.waivable_by),
                "free": d.fees.free,
                "fees": d.fees.description,
                "legal_basis": "；".join(d.legal_basis),
                "summary": d.summary,
                "version": item.version,
                "is_example": d.is_example,
            }
        )
    return rows


def _service_items_modified() -> dt.datetime | None:
    from tongban.catalog.models import ServiceItem

    return ServiceItem.objects.filter(is_active=True).aggregate(at=Max("current__loaded_at"))["at"]


def _bundle_rows() -> list[dict[str, Any]]:
    from tongban.catalog import selectors as catalog

    _, definitions = catalog.current_definitions()
    rows = []
    for bundle in catalog.bundle_list():
        d = definitions[bundle.code]
        rows.append(
            {
                "code": bundle.code,
                "name": bundle.name,
                "subject": catalog.SUBJECT_LABELS[bundle.subject],
                "lead_department_code": bundle.lead_department,
                "lead_department_name": bundle.lead_department_name,
                "promised_days": bundle.promised_days,
                "items": len(bundle.items),
                "item_codes": "、".join(bundle.items),
                "item_names": "、".join(bundle.item_names),
                "situations": len(d.situations),
                "summary": bundle.summary,
                "version": bundle.version,
                "is_example": bundle.is_example,
            }
        )
    return rows


def _bundles_modified() -> dt.datetime | None:
    from tongban.catalog.models import Bundle

    return Bundle.objects.filter(is_active=True).aggregate(at=Max("current__loaded_at"))["at"]


# ---------------------------------------------------------------- 政务服务大厅


def _week_text(weekly_hours: list) -> str:
    from tongban.appointments.models import WEEKDAY_NAMES
    from tongban.appointments.selectors.halls import periods_text

    parts = []
    for index, name in enumerate(WEEKDAY_NAMES):
        periods = weekly_hours[index] if index < len(weekly_hours or []) else []
        times = [(dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in periods]
        parts.append(f"{name} {periods_text(times) if times else '不开放'}")
    return "；".join(parts)


def _hall_rows() -> list[dict[str, Any]]:
    from tongban.appointments.models import Hall, HallItem, Window, WindowKind

    halls = list(Hall.objects.filter(is_active=True).order_by("code"))
    windows: dict[tuple[int, str], int] = {
        (hall_id, kind): n
        for hall_id, kind, n in Window.objects.filter(is_active=True, hall__in=halls)
        .values("hall_id", "kind")
        .annotate(n=Count("id"))
        .values_list("hall_id", "kind", "n")
    }
    items = dict(
        HallItem.objects.filter(hall__in=halls)
        .values("hall_id")
        .annotate(n=Count("id"))
        .values_list("hall_id", "n")
    )
    rows = []
    for hall in halls:
        rows.append(
            {
                "code": hall.code,
                "name": hall.name,
                "level": hall.get_level_display(),
                "district": hall.get_district_display(),
                "street": hall.street,
                "address": hall.address,
                "phone": hall.phone,
                "opening_hours": hall.opening_hours,
                "weekly_hours": _week_text(hall.weekly_hours),
                "open_on_holidays": hall.open_on_holidays,
                "latitude": float(hall.latitude) if hall.latitude is not None else None,
                "longitude": float(hall.longitude) if hall.longitude is not None else None,
                "windows_comprehensive": windows.get((hall.pk, WindowKind.COMPREHENSIVE), 0),
                "windows_department": windows.get((hall.pk, WindowKind.DEPARTMENT), 0),
                "windows_handout": windows.get((hall.pk, WindowKind.HANDOUT), 0),
                "items": items.get(hall.pk, 0),
            }
        )
    return rows


# The audited writes that change what the halls dataset shows (tongban.appointments.services).
_HALL_ACTIONS = ("hall.create", "hall.update", "hall.items_set", "window.create", "window.update")


def _halls_modified() -> dt.datetime | None:
    from tongban.common.models import AuditEvent

    return AuditEvent.objects.filter(action__in=_HALL_ACTIONS).aggregate(at=Max("at"))["at"]


# ---------------------------------------------------------------- 电子证照类型


def _certificate_type_rows() -> list[dict[str, Any]]:
    from tongban.certificates.models import CertificateType
    from tongban.certificates.selectors import certificate_type_definition

    holders = {"person": "个人", "enterprise": "企业"}
    rows = []
    types = (
        CertificateType.objects.filter(is_active=True)
        .select_related("department", "current")
        .order_by("code")
    )
    for ctype in types:
        d = certificate_type_definition(ctype.current)
        rows.append(
            {
                "code": ctype.code,
                "name": d.name,
                "department_code": ctype.department.code,
                "department_name": ctype.department.name,
                "holder": holders[d.holder],
                "validity_days": d.validity_days,
                "claims": "、".join(c.label for c in d.claims),
                "claims_count": len(d.claims),
                "replaces_earlier": d.replaces_earlier,
                "version": ctype.current.version,
            }
        )
    return rows


def _certificate_types_modified() -> dt.datetime | None:
    from tongban.certificates.models import CertificateType

    return CertificateType.objects.filter(is_active=True).aggregate(at=Max("current__loaded_at"))[
        "at"
    ]


# ---------------------------------------------------------------- 惠企利民政策


def _policy_rows() -> list[dict[str, Any]]:
    from tongban.policies.selectors import policy_cards

    return [
        {
            "code": card.code,
            "name": card.name,
            "department_code": card.department_code,
            "department_name": card.department_name,
            "subject": card.subject_label,
            "mode": card.mode_label,
            "summary": card.summary,
            "benefit": card.benefit,
            "conditions": "；".join(card.conditions),
            "industries": card.industry_names,
            "apply_item": card.item,
            "legal_basis": card.legal_basis,
            "valid_from": card.valid_from,
            "valid_until": card.valid_until,
            "version": card.version,
        }
        for card in policy_cards()
    ]


def _policies_modified() -> dt.datetime | None:
    from tongban.policies.models import Policy

    return Policy.objects.filter(is_active=True).aggregate(at=Max("current__loaded_at"))["at"]


# ---------------------------------------------------------------- monthly figures (metrics)

SERVICE_KINDS = {"item": "事项", "bundle": "一件事"}
SERVICE_KEYS = (
    "month",
    "department_code",
    "department_name",
    "service_kind",
    "service_code",
    "service_name",
)
SERVICE_COUNTS = (
    "submitted",
    "submitted_online",
    "concluded",
    "concluded_same_day",
    "concluded_on_time",
    "materials_required",
    "materials_spared",
)
SERVICE_RATES = (
    Rate("online_rate", "submitted_online", "submitted"),
    Rate("same_day_rate", "concluded_same_day", "concluded"),
    Rate("on_time_rate", "concluded_on_time", "concluded"),
    Rate("materials_spared_rate", "materials_spared", "materials_required"),
)
REVIEW_KEYS = ("month", "department_code", "department_name", "item_code", "item_name")
REVIEW_COUNTS = (
    "ratings",
    "satisfied",
    "dissatisfied",
    "orders",
    "orders_closed",
    "orders_closed_on_time",
)
REVIEW_RATES = (
    Rate("satisfaction_rate", "satisfied", "ratings"),
    Rate("dissatisfaction_rate", "dissatisfied", "ratings"),
    Rate("rectification_rate", "orders_closed", "orders"),
    Rate("on_time_rectification_rate", "orders_closed_on_time", "orders_closed"),
)


def _threshold() -> int:
    return settings.TONGBAN_OPENDATA_MIN_CELL


def _sorted(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))


def _service_figure_rows() -> list[dict[str, Any]]:
    from tongban.metrics.selectors import open_service_rows

    threshold = _threshold()
    rows = []
    for raw in open_service_rows():
        row = suppressed_row(
            raw, keys=SERVICE_KEYS, counts=SERVICE_COUNTS, rates=SERVICE_RATES, threshold=threshold
        )
        row["service_kind"] = SERVICE_KINDS.get(raw["service_kind"], raw["service_kind"])
        rows.append(row)
    return _sorted(rows, "month", "department_code", "service_kind", "service_code")


def _review_figure_rows() -> list[dict[str, Any]]:
    from tongban.metrics.selectors import open_review_rows

    threshold = _threshold()
    rows = [
        suppressed_row(
            raw, keys=REVIEW_KEYS, counts=REVIEW_COUNTS, rates=REVIEW_RATES, threshold=threshold
        )
        for raw in open_review_rows()
    ]
    return _sorted(rows, "month", "department_code", "item_code")


# ---------------------------------------------------------------- the registry

_SUPPRESSED = (
    "为保护个人信息，小于{min_cell}的计数不公开（表格文件中留空，数据文件和接口中为空值）；"
    "分子或分母不公开的比率同样不公开。比率为小数，四舍五入保留四位。"
)


def _count(name: str, title: str, what: str) -> Column:
    return Column(name, title, "integer", f"{what}；小于阈值时不公开")


def _rate(name: str, title: str, what: str) -> Column:
    return Column(name, title, "number", f"{what}；任一计数不公开时不公开")


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        id="service-items",
        title="政务服务事项目录及办事指南",
        description=(
            "本市一网通办当前发布的全部政务服务事项及其办事指南要点：实施部门、事项类型、"
            "即办件或承诺件、法定和承诺办结时限、最多跑动次数、办理渠道、申请材料数量、"
            "收费和设定依据。每个事项一行，事项定义变更后即更新。"
        ),
        keywords=("政务服务事项", "办事指南", "办结时限", "最多跑一次", "一网通办"),
        themes=("GOVE",),
        frequency="IRREG",
        columns=(
            Column("code", "事项编码", "text"),
            Column("name", "事项名称", "text"),
            Column("department_code", "实施部门编码", "text"),
            Column("department_name", "实施部门", "text"),
            Column("item_type", "事项类型", "text", "行政许可、行政确认、公共服务等"),
            Column("subject", "服务对象", "text", "个人事项、法人事项或两者"),
            Column("handling", "办件类型", "text", "即办件当场办结；承诺件在承诺时限内办结"),
            Column("statutory_days", "法定办结时限（工作日）", "integer"),
            Column("promised_days", "承诺办结时限（工作日）", "integer"),
            Column("visits", "最多跑动次数", "integer"),
            Column("channels", "办理渠道", "text", "以顿号分隔"),
            Column("online", "可网上办理", "boolean"),
            Column("materials", "申请材料数", "integer", "办事指南列出的材料，含视情形提交的"),
            Column(
                "materials_waivable",
                "可免交材料数",
                "integer",
                "可由电子证照、共享数据或告知承诺代替的材料",
            ),
            Column("free", "不收费", "boolean"),
            Column("fees", "收费说明", "text"),
            Column("legal_basis", "设定依据", "text", "以分号分隔"),
            Column("summary", "事项简介", "text"),
            Column("version", "定义版本", "integer"),
            Column("is_example", "示例数据", "boolean", "示例城市的示例内容，不对应真实事项"),
        ),
        build=_service_item_rows,
        source_modified=_service_items_modified,
    ),
    Dataset(
        id="bundles",
        title="一件事主题服务目录",
        description=(
            "把多个部门的事项合并为一次申请的“一件事”：牵头部门、包含的事项、需回答的情形数"
            "和承诺办结时限。每个一件事一行，定义变更后即更新。"
        ),
        keywords=("一件事", "主题服务", "一网通办", "跨部门"),
        themes=("GOVE",),
        frequency="IRREG",
        columns=(
            Column("code", "一件事编码", "text"),
            Column("name", "一件事名称", "text"),
            Column("subject", "服务对象", "text"),
            Column("lead_department_code", "牵头部门编码", "text"),
            Column("lead_department_name", "牵头部门", "text"),
            Column("promised_days", "承诺办结时限（工作日）", "integer"),
            Column("items", "包含事项数", "integer"),
            Column("item_codes", "包含事项编码", "text", "以顿号分隔"),
            Column("item_names", "包含事项", "text", "以顿号分隔"),
            Column(
                "situations",
                "情形问题数",
                "integer",
                "申请前回答的问题数，用于确定所需事项和材料",
            ),
            Column("summary", "简介", "text"),
            Column("version", "定义版本", "integer"),
            Column("is_example", "示例数据", "boolean", "示例城市的示例内容"),
        ),
        build=_bundle_rows,
        source_modified=_bundles_modified,
    ),
    Dataset(
        id="halls",
        title="政务服务大厅及开放时间",
        description=(
            "启用中的政务服务大厅：层级、所在区和街镇、地址、咨询电话、办公时间、每周开放"
            "时段、节假日是否开放、各类窗口数量和可办事项数。大厅信息变更后即更新。"
        ),
        keywords=("政务服务大厅", "开放时间", "窗口", "线下办事"),
        themes=("GOVE",),
        frequency="IRREG",
        columns=(
            Column("code", "大厅编码", "text"),
            Column("name", "大厅名称", "text"),
            Column("level", "层级", "text", "市级、区级或街镇"),
            Column("district", "所在区", "text"),
            Column("street", "所在街镇", "text"),
            Column("address", "地址", "text"),
            Column("phone", "咨询电话", "text"),
            Column("opening_hours", "办公时间", "text", "大厅公布的办公时间说明"),
            Column("weekly_hours", "每周开放时段", "text", "周一至周日，以分号分隔"),
            Column("open_on_holidays", "法定节假日开放", "boolean"),
            Column("latitude", "纬度", "number"),
            Column("longitude", "经度", "number"),
            Column("windows_comprehensive", "综合窗口数", "integer", "启用中的综合窗口"),
            Column("windows_department", "专窗数", "integer", "启用中的部门专窗"),
            Column("windows_handout", "出件窗口数", "integer", "启用中的出件窗口"),
            Column("items", "可办事项数", "integer"),
        ),
        build=_hall_rows,
        source_modified=_halls_modified,
    ),
    Dataset(
        id="certificate-types",
        title="电子证照类型目录",
        description=(
            "平台签发的电子证照类型：发证部门、持证主体、有效期、证照包含的信息项，以及换发"
            "时原证照是否失效。不含任何持证人的证照。"
        ),
        keywords=("电子证照", "证照类型", "亮证", "减材料"),
        themes=("GOVE",),
        frequency="IRREG",
        columns=(
            Column("code", "证照类型编码", "text"),
            Column("name", "证照名称", "text"),
            Column("department_code", "发证部门编码", "text"),
            Column("department_name", "发证部门", "text"),
            Column("holder", "持证主体", "text", "个人或企业"),
            Column("validity_days", "有效期（天）", "integer", "留空表示长期有效"),
            Column("claims", "证照信息项", "text", "以顿号分隔"),
            Column("claims_count", "信息项数", "integer"),
            Column("replaces_earlier", "换发后原证照失效", "boolean"),
            Column("version", "定义版本", "integer"),
        ),
        build=_certificate_type_rows,
        source_modified=_certificate_types_modified,
    ),
    Dataset(
        id="policies",
        title="惠企利民政策清单",
        description=(
            "当前有效的惠企利民政策：主管部门、适用对象、兑现方式（免申即享、精准推送或依申请）、"
            "待遇内容、资格条件、申请事项、政策依据和有效期。政策定义变更后即更新。"
        ),
        keywords=("惠企政策", "惠民政策", "免申即享", "政策找人"),
        themes=("GOVE", "SOCI", "ECON"),
        frequency="IRREG",
        columns=(
            Column("code", "政策编码", "text"),
            Column("name", "政策名称", "text"),
            Column("department_code", "主管部门编码", "text"),
            Column("department_name", "主管部门", "text"),
            Column("subject", "适用对象", "text", "个人或企业"),
            Column("mode", "兑现方式", "text", "免申即享、精准推送或依申请"),
            Column("summary", "政策简介", "text"),
            Column("benefit", "待遇内容", "text"),
            Column("conditions", "资格条件", "text", "以分号分隔"),
            Column("industries", "限定行业", "text", "留空表示不限行业"),
            Column("apply_item", "申请事项编码", "text", "免申即享的政策可能没有"),
            Column("legal_basis", "政策依据", "text"),
            Column("valid_from", "生效日期", "date"),
            Column("valid_until", "截止日期", "date", "留空表示长期有效"),
            Column("version", "定义版本", "integer"),
        ),
        build=_policy_rows,
        source_modified=_policies_modified,
    ),
    Dataset(
        id="service-figures-monthly",
        title="政务服务月度统计",
        description=(
            "按月、部门和事项（或一件事）汇总的办件数：申请数、网上申请数、办结数、当天办结数、"
            "按时办结数、应交材料数和免交材料数，以及网办比例、即办率、按时办结率和减材料"
            "比例。只含已结束的月份，每月初增加上一个月。" + _SUPPRESSED
        ),
        keywords=("办件统计", "网办比例", "即办率", "减材料", "按时办结率"),
        themes=("GOVE",),
        frequency="MONTHLY",
        columns=(
            Column("month", "月份", "text", "如 2026-11"),
            Column("department_code", "部门编码", "text"),
            Column("department_name", "部门", "text"),
            Column("service_kind", "服务类别", "text", "事项或一件事"),
            Column("service_code", "事项或一件事编码", "text"),
            Column("service_name", "事项或一件事名称", "text"),
            _count("submitted", "申请数", "当月提交的申请"),
            _count("submitted_online", "网上申请数", "通过网站或移动端提交的申请"),
            _count("concluded", "办结数", "当月办结的办件"),
            _count("concluded_same_day", "当天办结数", "提交当天办结的办件"),
            _count("concluded_on_time", "按时办结数", "在承诺时限内办结的办件"),
            _count("materials_required", "应交材料数", "办结办件所需材料合计"),
            _count("materials_spared", "免交材料数", "由电子证照、共享数据或告知承诺免交的材料"),
            _rate("online_rate", "网办比例", "网上申请数 ÷ 申请数"),
            _rate("same_day_rate", "即办率", "当天办结数 ÷ 办结数"),
            _rate("on_time_rate", "按时办结率", "按时办结数 ÷ 办结数"),
            _rate("materials_spared_rate", "减材料比例", "免交材料数 ÷ 应交材料数"),
        ),
        build=_service_figure_rows,
    ),
    Dataset(
        id="review-figures-monthly",
        title="好差评月度统计",
        description=(
            "按月、部门和事项汇总的好差评：评价数、满意评价数（非常满意和满意）、差评数"
            "（不满意和非常不满意）、差评整改工单数、已办结工单数和按期办结工单数，以及满意率、"
            "差评率、整改率和按期整改率。不含评价内容和评价人。"
            "只含已结束的月份，每月初增加上一个月。" + _SUPPRESSED
        ),
        keywords=("好差评", "满意率", "差评整改", "政务服务评价"),
        themes=("GOVE",),
        frequency="MONTHLY",
        columns=(
            Column("month", "月份", "text", "如 2026-11"),
            Column("department_code", "部门编码", "text"),
            Column("department_name", "部门", "text"),
            Column("item_code", "事项编码", "text"),
            Column("item_name", "事项名称", "text"),
            _count("ratings", "评价数", "当月的评价"),
            _count("satisfied", "满意评价数", "非常满意和满意"),
            _count("dissatisfied", "差评数", "不满意和非常不满意"),
            _count("orders", "整改工单数", "差评生成的整改工单"),
            _count("orders_closed", "已办结工单数", "已整改办结的工单"),
            _count("orders_closed_on_time", "按期办结工单数", "在整改期限内办结的工单"),
            _rate("satisfaction_rate", "满意率", "满意评价数 ÷ 评价数"),
            _rate("dissatisfaction_rate", "差评率", "差评数 ÷ 评价数"),
            _rate("rectification_rate", "整改率", "已办结工单数 ÷ 整改工单数"),
            _rate("on_time_rectification_rate", "按期整改率", "按期办结工单数 ÷ 已办结工单数"),
        ),
        build=_review_figure_rows,
    ),
)
