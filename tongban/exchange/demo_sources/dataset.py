"""The demo department systems' own records (示例数据), written from the demo population.

    counts = build(settings.TONGBAN_DEMO_SOURCES_DB)   # {source code: records}

Each department system keeps its own database; here they share one SQLite file, apart from
the platform's database, with one table per data source (`key TEXT PRIMARY KEY, data TEXT,
as_of TEXT`, data a JSON object of wire values: text/choice str, integer int, decimal str,
date "YYYY-MM-DD", boolean bool). The records follow the platform's demo population so the
two agree: a resident with disability grade 2 has a 残疾人证 of grade 2, a 居住证 holder is in
the 居住证 system, a married couple in one household name each other on their 结婚证, every
enterprise is in the 市场主体登记库 with its own name, legal representative and status. What
the platform does not know (card numbers, dates, diagnoses, schools …) is invented,
deterministically from a hash of the key, so a rebuild gives the same records.

The hand-made demo people and companies (tongban.demo.accounts) get records chosen for their
stories — `demo_subjects()` says which of them answers which material of which source — and
the generated population fills the rest at plausible rates (veterans only come from there).

Speed and memory: residents are read household by household in batches, keyset-paginated,
and written with executemany; a million residents stream through in bounded memory. The
store is written to a temporary file and renamed over the old one, so the running demo
sources switch to the new records at once and never see half a store.
"""

# ruff: noqa: S311 — invented demo values, not secrets
# ruff: noqa: S608 — table names are source codes from validated definitions

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

TABLE_SQL = 'CREATE TABLE "{code}" (key TEXT PRIMARY KEY, data TEXT NOT NULL, as_of TEXT NOT NULL)'
BATCH_HOUSEHOLDS = 2000
BATCH_ENTERPRISES = 5000

Record = dict[str, Any]
Progress = Callable[[str, int], None]  # (what, rows done so far)


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# ----------------------------------------------------------------------------- writing


class _Store:
    """The temporary store being written; `close(commit=True)` renames it into place."""

    def __init__(self, path: Path, codes: Iterable[str], as_of: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        if self.tmp.exists():
            self.tmp.unlink()
        self.conn = sqlite3.connect(self.tmp)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.as_of = as_of
        self.counts: dict[str, int] = {}
        for code in codes:
            self.conn.execute(TABLE_SQL.format(code=code))
            self.counts[code] = 0

    def write(self, code: str, rows: Mapping[str, Record], *, replace: bool = True) -> None:
        if code not in self.counts or not rows:
            return
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        self.conn.executemany(
            f'{verb} INTO "{code}" (key, data, as_of) VALUES (?, ?, ?)',
            (
                (key, json.dumps(_wire(values), ensure_ascii=False, sort_keys=True), self.as_of)
                for key, values in rows.items()
            ),
        )

    def close(self, *, commit: bool) -> dict[str, int]:
        try:
            if commit:
                self.conn.commit()
                for code in self.counts:
                    self.counts[code] = self.conn.execute(
                        f'SELECT COUNT(*) FROM "{code}"'
                    ).fetchone()[0]
        finally:
            self.conn.close()
        if commit:
            os.replace(self.tmp, self.path)
        elif self.tmp.exists():
            self.tmp.unlink()
        return dict(self.counts)


def _wire(values: Mapping[str, Any]) -> Record:
    """Python values → wire values; None means the system does not hold the element."""
    out: Record = {}
    for code, value in values.items():
        if value is None:
            continue
        if isinstance(value, Decimal):
            value = f"{value:.2f}"
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[code] = value
    return out


def write_records(
    path: Path | str, records: Mapping[str, Mapping[str, Mapping[str, Any]]], *, as_of: str = ""
) -> dict[str, int]:
    """Write a store from explicit records {source code: {key: {element: value}}},
    replacing PATH atomically. For tests that need a few exact records; returns the counts."""
    store = _Store(Path(path), records.keys(), as_of or _now_iso())
    try:
        for code, rows in records.items():
            store.write(code, {k: dict(v) for k, v in rows.items()})
    except BaseException:
        store.close(commit=False)
        raise
    return store.close(commit=True)


# ----------------------------------------------------------------------------- helpers


def _rng(key: str, source: str) -> random.Random:
    """The same invented facts for the same subject and source, on every build."""
    digest = hashlib.sha256(f"{source}:{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _on(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, 28) if month == 2 else min(day, 30))


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _add_years(d: dt.date, years: int) -> dt.date:
    return _on(d.year + years, d.month, d.day)


_DISTRICT_LABELS = {
    "310101": "黄浦区",
    "310104": "徐汇区",
    "310105": "长宁区",
    "310106": "静安区",
    "310107": "普陀区",
    "310109": "虹口区",
    "310110": "杨浦区",
    "310112": "闵行区",
    "310113": "宝山区",
    "310114": "嘉定区",
    "310115": "浦东新区",
    "310116": "金山区",
    "310117": "松江区",
    "310118": "青浦区",
    "310120": "奉贤区",
    "310151": "崇明区",
}
_RELATIONS = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandchild": "孙子女",
    "other": "其他",
}
_STREETS = ("示例路", "和平路", "建设路", "光明路", "长寿路", "文化路", "新华路", "复兴路")
_ETHNICITIES = (("汉族", 0.94), ("回族", 0.02), ("满族", 0.015), ("蒙古族", 0.01), ("壮族", 0.015))
_DIAGNOSES = (
    "高血压病",
    "2型糖尿病",
    "慢性胃炎",
    "腰椎间盘突出症",
    "上呼吸道感染",
    "冠状动脉粥样硬化性心脏病",
    "骨关节炎",
    "过敏性鼻炎",
)
_HOSPITALS = (
    "示例市第一人民医院",
    "示例市第六人民医院",
    "示例市中医医院",
    "示例区社区卫生服务中心",
    "示例市儿童医院",
)
_SCHOOLS = {
    "幼儿园": "示例{district}第{n}幼儿园",
    "小学": "示例{district}第{n}小学",
    "初中": "示例{district}第{n}中学",
    "高中": "示例市{district}高级中学",
}
_UNIVERSITIES = ("示例大学", "示例理工大学", "示例师范大学", "示例财经大学", "示例医科大学")
_MAJORS = ("计算机科学与技术", "会计学", "汉语言文学", "机械工程", "临床医学", "法学", "市场营销")
_EMPLOYERS = ("示例市城市建设有限公司", "示例商贸有限公司", "示例信息科技有限公司")
_CATEGORIES = ("视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾")
_BRANCHES = (("陆军", 0.55), ("海军", 0.12), ("空军", 0.12), ("火箭军", 0.06), ("武警部队", 0.15))
_TYPES = {
    "llc": "有限责任公司",
    "joint_stock": "股份有限公司",
    "sole": "个人独资企业",
    "partnership": "合伙企业",
    "individual": "个体工商户",
    "foreign": "外商投资企业",
}
_STATUSES = {"active": "存续", "suspended": "停业", "deregistered": "注销", "revoked": "吊销"}
# 低保 standard of the demo city (元/人·月), as Shanghai's 2025 figure.
MINIMUM_LIVING_STANDARD = Decimal("1510")


def _weighted(rng: random.Random, pairs) -> str:
    u, acc = rng.random(), 0.0
    for value, weight in pairs:
        acc += weight
        if u < acc:
            return value
    return pairs[-1][0]


def _district_label(code: str) -> str:
    return _DISTRICT_LABELS.get(code, "")


def _address(rng: random.Random, district: str) -> str:
    label = _district_label(district) or "浦东新区"
    return (
        f"上海市{label}{rng.choice(_STREETS)}{rng.randint(1, 800)}弄"
        f"{rng.randint(1, 40)}号{rng.randint(1, 20)}0{rng.randint(1, 4)}室"
    )


def _sex_of(id_number: str) -> str:
    return "男" if int(id_number[16]) % 2 else "女"


def _birth_of(id_number: str) -> dt.date:
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


# ----------------------------------------------------------------------------- people


@dataclass
class Person:
    """What the platform's profile says about one resident, as the generators read it."""

    id_number: str
    name: str
    birth: dt.date
    sex: str  # "M" | "F"
    hukou_local: bool
    hukou_district: str
    residence_district: str
    residence_address: str
    marital_status: str
    disability_grade: int | None
    is_veteran: bool
    is_low_income: bool
    is_minimum_living: bool
    has_residence_permit: bool
    employment: str
    household_number: str
    relation: str
    monthly_income: Decimal | None


_PROFILE_FIELDS = (
    "id_number",
    "name",
    "birth_date",
    "sex",
    "hukou_is_local",
    "hukou_district",
    "residence_district",
    "residence_address",
    "marital_status",
    "disability_grade",
    "is_veteran",
    "is_low_income",
    "is_minimum_living_allowance",
    "has_residence_permit",
    "employment_status",
    "household__number",
    "household_relation",
    "monthly_income",
    "household_id",
)


def _person(row: tuple) -> Person:
    return Person(*row[:-1])


class _Generator:
    """Every department's record of one person, from the profile plus invented facts."""

    def __init__(self, today: dt.date, employers: list[tuple[str, str]]):
        self.today = today
        self.employers = employers or [(n, "") for n in _EMPLOYERS]

    # One household at a time: spouses and guardians are found among its members.
    def household(self, members: list[Person]) -> dict[str, dict[str, Record]]:
        out: dict[str, dict[str, Record]] = {}
        head = next((m for m in members if m.relation == "head"), None)
        spouse = next((m for m in members if m.relation == "spouse"), None)
        for p in members:
            partner = None
            if p.marital_status == "married" and head and spouse:
                partner = spouse if p is head else head if p is spouse else None
            guardian = None
            if _age(p.birth, self.today) < 18 and p.relation == "child" and head:
                guardian = next(
                    (g for g in (head, spouse) if g and g.sex == "F"), head
                )  # 母亲 first
            for code, record in self.person(p, partner=partner, guardian=guardian).items():
                out.setdefault(code, {})[p.id_number] = record
        return out

    def person(
        self, p: Person, *, partner: Person | None = None, guardian: Person | None = None
    ) -> dict[str, Record]:
        age = _age(p.birth, self.today)
        recs: dict[str, Record] = {"gaj_population": self.population(p, age, guardian)}
        makers = (
            self.residence_permit,
            self.driver_health,
            self.disability,
            self.assistance,
            self.health,
            self.immunisation,
            self.insurance,
            self.real_estate,
            self.rental,
            self.student,
            self.education,
            self.veteran,
            self.military_insurance,
            self.settlement,
        )
        for make in makers:
            made = make(p, age)
            if made:
                recs[made[0]] = made[1]
        marriage = self.marriage(p, age, partner)
        if marriage:
            recs["mzj_marriage"] = marriage
        return recs

    def population(self, p: Person, age: int, guardian: Person | None) -> Record:
        rng = _rng(p.id_number, "gaj_population")
        rec: Record = {
            "name": p.name,
            "gender": "男" if p.sex == "M" else "女",
            "ethnicity": _weighted(rng, _ETHNICITIES),
            "birth_date": p.birth,
        }
        rec.update(id_card(p.id_number, p.birth, self.today))
        if p.hukou_local and p.household_number:
            district = p.hukou_district or p.residence_district
            same = p.residence_address and district == p.residence_district
            rec["hukou_address"] = p.residence_address if same else _address(rng, district)
            rec["household_number"] = p.household_number
            rec["relation_to_head"] = _RELATIONS.get(p.relation, "其他")
        if guardian is not None:
            rec["guardian_name"] = guardian.name
            rec["guardian_id_number"] = guardian.id_number
            rec["guardian_relation"] = "母亲" if guardian.sex == "F" else "父亲"
        return rec

    def residence_permit(self, p: Person, age: int):
        if not p.has_residence_permit:
            return None
        rng = _rng(p.id_number, "ga_residence_permit")
        # 居住证 are signed yearly (签注): the current year runs from the last anniversary.
        issued = _on(self.today.year - rng.randint(1, 6), rng.randint(1, 12), rng.randint(1, 28))
        until = _on(self.today.year, issued.month, issued.day)
        if until <= self.today:
            until = _add_years(until, 1)
        return "ga_residence_permit", {
            "permit_no": f"31{_digits(rng, 16)}",
            "permit_issued_on": issued,
            "permit_valid_until": until,
            "permit_valid": True,
            "permit_address": p.residence_address or _address(rng, p.residence_district),
            "permit_points": rng.randint(40, 130),
        }

    def driver_health(self, p: Person, age: int):
        rng = _rng(p.id_number, "ga_driver_health")
        if not 18 <= age <= 70 or rng.random() >= 0.12:
            return None
        return "ga_driver_health", driver_exam(rng, self.today)

    def disability(self, p: Person, age: int):
        if not p.disability_grade:
            return None
        rng = _rng(p.id_number, "cl_disability")
        category = rng.randrange(len(_CATEGORIES))
        return "cl_disability", disability_card(
            p.id_number, p.disability_grade, category, rng, self.today
        )

    def assistance(self, p: Person, age: int):
        if not (p.is_minimum_living or p.is_low_income):
            return None
        rng = _rng(p.id_number, "mzj_assistance")
        kind = "最低生活保障" if p.is_minimum_living else "低收入家庭"
        return "mzj_assistance", assistance_record(kind, p.monthly_income, rng, self.today)

    def health(self, p: Person, age: int):
        rng = _rng(p.id_number, "wjw_health")
        if rng.random() >= (0.7 if age >= 60 else 0.35):
            return None
        pool = _DIAGNOSES if age >= 50 else _DIAGNOSES[2:5] + _DIAGNOSES[7:]
        diagnosis = "急性支气管炎" if age < 14 else rng.choice(pool)
        hospital = "示例市儿童医院" if age < 14 else rng.choice(_HOSPITALS[:4])
        return "wjw_health", health_record(rng, diagnosis, hospital, self.today)

    def immunisation(self, p: Person, age: int):
        if age > 14:
            return None
        rng = _rng(p.id_number, "wjw_immunisation")
        return "wjw_immunisation", immunisation_record(p.birth, rng, self.today)

    def insurance(self, p: Person, age: int):
        rng = _rng(p.id_number, "rsj_insurance")
        if p.employment == "在职" and age >= 16:
            name, uscc = self.employers[rng.randrange(len(self.employers))]
            return "rsj_insurance", employment_record(rng, name, uscc, age, self.today)
        if p.employment in ("灵活就业", "个体经营") and age >= 16:
            rec = employment_record(rng, "", "", age, self.today)
            rec["insurance_type"] = "灵活就业人员"
            return "rsj_insurance", rec
        if p.employment == "失业" and age >= 16:
            rec = employment_record(rng, "", "", age, self.today)
            rec.update(insured=False, insurance_type="职工社会保险", insurance_start=None)
            gap = self.today - dt.timedelta(days=rng.randint(60, 400))
            rec["last_paid_month"] = f"{gap.year}-{gap.month:02d}"
            return "rsj_insurance", rec
        return None

    def real_estate(self, p: Person, age: int):
        if age < 18:
            return None
        rng = _rng(p.id_number, "ghzy_real_estate")
        u = rng.random()
        count = (2 if u < 0.1 else 1 if u < 0.75 else 0) if p.hukou_local else int(u < 0.1)
        address = p.residence_address or _address(rng, p.residence_district)
        addresses = [address] + [_address(rng, p.residence_district) for _ in range(count - 1)]
        areas = [
            Decimal(rng.randint(45, 140)) + Decimal(rng.randint(0, 99)) / 100 for _ in addresses
        ]
        return "ghzy_real_estate", real_estate_record(addresses[:count], areas[:count], self.today)

    def rental(self, p: Person, age: int):
        if age < 18:
            return None
        rng = _rng(p.id_number, "fgj_rental")
        if rng.random() >= (0.7 if p.has_residence_permit else 0.05):
            return None
        address = p.residence_address or _address(rng, p.residence_district)
        return "fgj_rental", rental_record(rng, address, self.today)

    def student(self, p: Person, age: int):
        rng = _rng(p.id_number, "jw_student")
        stage_grade = school_stage(p.birth, self.today)
        if stage_grade is None:
            return None
        if stage_grade[0] == "幼儿园" and rng.random() >= 0.85:
            return None
        if stage_grade[0] == "高中" and p.employment != "在校学生":
            return None
        return "jw_student", student_record(p, stage_grade, rng, self.today)

    def education(self, p: Person, age: int):
        rng = _rng(p.id_number, "jw_education")
        if not 22 <= age <= 65 or rng.random() >= (0.6 if age < 40 else 0.3):
            return None
        level = _weighted(
            rng, (("本科", 0.6), ("专科", 0.25), ("硕士研究生", 0.13), ("博士研究生", 0.02))
        )
        return "jw_education", education_record(p.birth, level, rng)

    def veteran(self, p: Person, age: int):
        if not p.is_veteran:
            return None
        return "tyj_veteran", veteran_record(p, _rng(p.id_number, "tyj_veteran"))

    def military_insurance(self, p: Person, age: int):
        if not p.is_veteran:
            return None
        service = veteran_record(p, _rng(p.id_number, "tyj_veteran"))
        rng = _rng(p.id_number, "tyj_military_insurance")
        return "tyj_military_insurance", military_insurance_record(service, rng)

    def settlement(self, p: Person, age: int):
        rng = _rng(p.id_number, "ybzx_settlement")
        if rng.random() >= (0.6 if age >= 60 else 0.25):
            return None
        return "ybzx_settlement", settlement_record(rng, age, self.today)

    def marriage(self, p: Person, age: int, partner: Person | None) -> Record | None:
        if p.marital_status == "unmarried":
            return None
        rng = _rng(p.id_number, "mzj_marriage")
        if p.marital_status == "divorced":
            return {"marital_status": "离婚", "registration_office": _office(p, rng)}
        if p.marital_status == "widowed":
            return {"marital_status": "丧偶", "registration_office": _office(p, rng)}
        if partner is None:
            return marriage_record(rng, p, None, None, self.today)
        # Both spouses' records carry the same certificate: made once for the pair, in a
        # fixed order, then each names the other.
        first, second = sorted((p, partner), key=lambda m: m.id_number)
        pair = first.id_number + second.id_number
        shared = marriage_record(
            _rng(pair, "mzj_marriage"), first, second.name, second.id_number, self.today
        )
        return shared | {"spouse_name": partner.name, "spouse_id_number": partner.id_number}


# The records themselves, one function per kind so the hand-made people use them too.


def id_card(id_number: str, birth: dt.date, today: dt.date) -> Record:
    """居民身份证 validity: 10 years from 16, 20 from 26, 长期 from 46 (法定有效期)."""
    age = _age(birth, today)
    if age < 16:
        return {}
    rng = _rng(id_number, "id_card")
    at, years = (16, 10) if age < 26 else (26, 20) if age < 46 else (46, 0)
    start = _add_years(birth, at) + dt.timedelta(days=rng.randint(0, 60))
    region = id_number[:6]
    # 闸北区 (310108) merged into 静安区; cards issued there still carry its code.
    label = _district_label({"310108": "310106"}.get(region, region))
    branch = label.removesuffix("新区").removesuffix("区")
    return {
        "id_issuing_authority": f"示例市公安局{branch}分局" if label else "户籍地公安机关（示例）",
        "id_valid_from": start,
        "id_valid_until": _add_years(start, years).isoformat() if years else "长期",
        "photo_ref": f"ZP{hashlib.sha256(id_number.encode()).hexdigest()[:12].upper()}",
        "photo_taken_on": start - dt.timedelta(days=rng.randint(7, 30)),
    }


def driver_exam(rng: random.Random, today: dt.date) -> Record:
    on = today - dt.timedelta(days=rng.randint(3, 300))
    return {
        "exam_no": f"TJ{on:%Y%m%d}{_digits(rng, 6)}",
        "exam_date": on,
        "exam_hospital": rng.choice(_HOSPITALS[:4]),
        "exam_result": "合格",
        "exam_passed": True,
    }


def disability_card(
    id_number: str, grade: int, category: int, rng: random.Random, today: dt.date
) -> Record:
    """残疾人证号: the 公民身份号码, the category digit and the grade digit."""
    issued = today - dt.timedelta(days=rng.randint(200, 3000))
    return {
        "disability_card_no": f"{id_number}{category + 1}{grade}",
        "disability_category": _CATEGORIES[category],
        "disability_grade": grade,
        "card_issued_on": issued,
        "card_valid_until": _add_years(issued, 10),
    }


def assistance_record(
    kind: str, income: Decimal | None, rng: random.Random, today: dt.date
) -> Record:
    since = today - dt.timedelta(days=rng.randint(90, 2500))
    gap = MINIMUM_LIVING_STANDARD - (income or Decimal(0))
    allowance = max(gap, Decimal(300)) if kind == "最低生活保障" else Decimal(0)
    return {
        "assistance_type": kind,
        "assistance_since": since,
        "assistance_card_no": f"MZ{since.year}{_digits(rng, 8)}",
        "monthly_allowance": allowance.quantize(Decimal("0.01")),
        "assistance_active": True,
    }


def health_record(rng: random.Random, diagnosis: str, hospital: str, today: dt.date) -> Record:
    on = today - dt.timedelta(days=rng.randint(5, 330))
    return {
        "record_no": f"BL{on:%Y%m}{_digits(rng, 8)}",
        "latest_diagnosis": diagnosis,
        "diagnosis_date": on,
        "hospital_name": hospital,
    }


def immunisation_record(birth: dt.date, rng: random.Random, today: dt.date) -> Record:
    months = max(0, (today.year - birth.year) * 12 + today.month - birth.month)
    doses = min(1 + months // 2, 26) if months < 84 else 26 + min((months - 84) // 36, 4)
    last = min(today, birth + dt.timedelta(days=min(months, 84) * 30))
    return {
        "vaccination_card_no": f"YM{birth:%Y}{_digits(rng, 10)}",
        "doses_recorded": doses,
        "last_dose_on": last,
        "schedule_complete": rng.random() < 0.97,
    }


def employment_record(
    rng: random.Random, employer: str, uscc: str, age: int, today: dt.date
) -> Record:
    years = max(1, min(age - 18, 40)) if age > 18 else 1
    start = today - dt.timedelta(days=rng.randint(90, 365 * min(years, 12)))
    last = today.replace(day=1) - dt.timedelta(days=1)
    return {
        "insured": True,
        "insurance_type": "职工社会保险" if employer else "灵活就业人员",
        "employer_name": employer or None,
        "employer_uscc": uscc or None,
        "insurance_start": start if employer else None,
        "contribution_months": min(years * 12, rng.randint(12, 12 * years + 12)),
        "last_paid_month": f"{last.year}-{last.month:02d}",
    }


def real_estate_record(addresses: list[str], areas: list[Decimal], today: dt.date) -> Record:
    return {
        "property_count": len(addresses),
        "property_addresses": "；".join(addresses) or None,
        "total_floor_area": sum(areas, Decimal(0)) if addresses else None,
        "checked_on": today,
    }


def rental_record(rng: random.Random, address: str, today: dt.date) -> Record:
    start = today - dt.timedelta(days=rng.randint(30, 600))
    end = _add_years(start, rng.choice((1, 2, 3)))
    if end <= today:
        end = _add_years(end, 1)
    return {
        "rental_filing_no": f"ZL{start:%Y}{_digits(rng, 8)}",
        "rental_address": address,
        "lease_start": start,
        "lease_end": end,
        "lease_current": True,
    }


_GRADES = "一二三四五六七八九"
_KINDERGARTEN = ("小班", "中班", "大班")


def school_stage(birth: dt.date, today: dt.date) -> tuple[str, str, dt.date] | None:
    """(学段, 年级, 入学日期) in the school year of TODAY: school starts the September after the
    sixth birthday (born by 31 August: that year), kindergarten three years before."""
    first_year = birth.year + (6 if (birth.month, birth.day) <= (8, 31) else 7)
    school_year = today.year if today.month >= 9 else today.year - 1
    n = school_year - first_year  # 0: 一年级
    if -3 <= n < 0:
        return "幼儿园", _KINDERGARTEN[n + 3], dt.date(first_year - 3, 9, 1)
    if 0 <= n < 6:
        return "小学", f"{_GRADES[n]}年级", dt.date(first_year, 9, 1)
    if 6 <= n < 9:
        return "初中", f"{_GRADES[n - 6]}年级", dt.date(first_year + 6, 9, 1)
    if 9 <= n < 12:
        return "高中", f"高{_GRADES[n - 9]}", dt.date(first_year + 9, 9, 1)
    return None


def student_record(
    p: Person, stage_grade: tuple[str, str, dt.date], rng: random.Random, today: dt.date
) -> Record:
    stage, grade, enrolled_on = stage_grade
    district = _district_label(p.residence_district or p.hukou_district) or "浦东新区"
    return {
        "student_no": f"G{p.id_number}",  # 全国学籍号: G + 公民身份号码
        "school_name": _SCHOOLS[stage].format(district=district, n=rng.randint(1, 30)),
        "study_stage": stage,
        "grade": grade,
        "enrolled_on": enrolled_on,
        "enrolled": True,
    }


def education_record(birth: dt.date, level: str, rng: random.Random) -> Record:
    years = {"专科": 21, "本科": 22, "硕士研究生": 25, "博士研究生": 28}[level]
    graduated = dt.date(birth.year + years, 6, 30)
    degree = {"本科": "学士", "硕士研究生": "硕士", "博士研究生": "博士"}.get(level)
    return {
        "education_level": level,
        "degree": degree,
        "graduation_school": rng.choice(_UNIVERSITIES),
        "major": rng.choice(_MAJORS),
        "graduated_on": graduated,
        "diploma_no": f"1{_digits(rng, 4)}{graduated.year}{_digits(rng, 11)}",
    }


def veteran_record(p: Person, rng: random.Random) -> Record:
    enlisted = _on(p.birth.year + rng.randint(18, 20), 9, rng.randint(1, 28))
    discharged = _add_years(enlisted, rng.choice((2, 2, 5, 8, 12, 16)))
    kind = "转业" if (discharged - enlisted).days > 12 * 365 else "退伍"
    district = _district_label(p.hukou_district or p.residence_district) or "浦东新区"
    return {
        "veteran_cert_no": f"TY{discharged.year}{_digits(rng, 10)}",
        "service_branch": _weighted(rng, _BRANCHES),
        "enlisted_on": enlisted,
        "discharged_on": discharged,
        "discharge_type": kind,
        "resettlement_letter_no": f"AZ{discharged.year}{_digits(rng, 8)}",
        "resettlement_place": f"上海市{district}",
    }


def military_insurance_record(service: Record, rng: random.Random) -> Record:
    months = (service["discharged_on"] - service["enlisted_on"]).days // 30
    return {
        "transfer_form_no": f"JB{service['discharged_on'].year}{_digits(rng, 8)}",
        "pension_months": months,
        "medical_months": months,
        "transferred_on": service["discharged_on"] + dt.timedelta(days=rng.randint(20, 90)),
    }


def settlement_record(rng: random.Random, age: int, today: dt.date) -> Record:
    count = rng.randint(1, 24 if age >= 60 else 8)
    total = Decimal(rng.randint(150, 900) * count)
    return {
        "settlement_count": count,
        "total_expense": total,
        "out_of_pocket": (total * Decimal("0.3")).quantize(Decimal("0.01")),
        "last_settled_on": today - dt.timedelta(days=rng.randint(1, 120)),
    }


def _office(p: Person, rng: random.Random) -> str:
    district = _district_label(p.hukou_district or p.residence_district) or "浦东新区"
    return f"示例市{district}婚姻登记处"


def marriage_record(
    rng: random.Random,
    p: Person,
    spouse_name: str | None,
    spouse_id: str | None,
    today: dt.date,
    *,
    registered_on: dt.date | None = None,
) -> Record:
    if registered_on is None:
        earliest = _add_years(p.birth, 22 if p.sex == "M" else 20)
        if spouse_id:
            earliest = max(earliest, _add_years(_birth_of(spouse_id), 22))
        span = max((today - earliest).days, 30)
        registered_on = earliest + dt.timedelta(days=rng.randint(0, min(span, 3650)))
    return {
        "marital_status": "已婚",
        "marriage_cert_no": f"J{(p.hukou_district or '310000')}-{registered_on.year}-"
        f"{_digits(rng, 6)}",
        "registered_on": registered_on,
        "spouse_name": spouse_name,
        "spouse_id_number": spouse_id,
        "registration_office": _office(p, rng),
    }


# ----------------------------------------------------------------------------- enterprises


def enterprise_records(e: Mapping[str, Any], today: dt.date) -> dict[str, Record]:
    """市场主体登记, 税务, 单位社保 and 公共信用 records of one enterprise (Enterprise values)."""
    uscc = e["uscc"]
    rng = _rng(uscc, "enterprise")
    status = e["status"]
    living = status in ("active", "suspended")
    recs: dict[str, Record] = {
        "scj_market_entity": {
            "enterprise_name": e["name"],
            "enterprise_type": _TYPES.get(e["type"], "有限责任公司"),
            "legal_representative": e["legal_representative"],
            "registered_capital": e["registered_capital"],
            "founded_on": e["founded_on"],
            "registered_address": e["address"] or None,
            "registration_status": _STATUSES.get(status, "存续"),
            "license_valid": True if living else None,
            "industry_code": e["industry_code"],
            "registration_authority": f"示例市{_district_label(e['district']) or ''}市场监督管理局",
        }
    }
    if not living:
        return recs
    revenue = e["annual_revenue"]
    if revenue is None:
        revenue = Decimal(max(e["employees"], 1) * rng.randint(20, 80))
    tax = revenue * Decimal("0.05")
    band = (
        "10万元以下"
        if tax < 10
        else "10万至50万元"
        if tax < 50
        else "50万至200万元"
        if tax < 200
        else "200万元以上"
    )
    recs["swj_tax"] = {
        "tax_credit_rating": e["tax_credit_rating"] or None,
        "last_year_tax_band": band,
        "statement_year": today.year - 1,
        "annual_revenue": Decimal(revenue).quantize(Decimal("0.01")),
        "total_assets": (revenue * Decimal(rng.randint(60, 180)) / 100).quantize(Decimal("0.01")),
        "net_profit": (revenue * Decimal(rng.randint(-5, 15)) / 100).quantize(Decimal("0.01")),
        "statements_filed": True,
    }
    headcount = e["insured_headcount"]
    if headcount is None:
        headcount = max(1, int(e["employees"] * 0.9))
    last = today.replace(day=1) - dt.timedelta(days=1)
    recs["rsj_unit_insurance"] = {
        "insured_headcount": headcount,
        "unit_insured_since": max(e["founded_on"], dt.date(1993, 1, 1)),
        "paid_through_month": f"{last.year}-{last.month:02d}",
        "contributions_up_to_date": True,
        "layoff_rate": e["layoff_rate"],
    }
    rating = {"A": "A", "B": "B", "M": "B", "C": "C", "D": "D"}.get(e["tax_credit_rating"] or "")
    recs["credit_rating"] = {
        "public_credit_rating": rating or _weighted(rng, (("A", 0.3), ("B", 0.6), ("C", 0.1))),
        "rated_on": _on(today.year, 1, 15) if today.month > 1 else _on(today.year - 1, 1, 15),
        "dishonest_listed": rating == "D",
    }
    return recs


def representative_record(name: str, id_number: str, today: dt.date) -> Record:
    """公安人口库 for a legal representative the platform has no resident profile of."""
    birth = _birth_of(id_number)
    rec: Record = {"name": name, "gender": _sex_of(id_number), "birth_date": birth}
    rec["ethnicity"] = "汉族"
    rec.update(id_card(id_number, birth, today))
    return rec


_ENTERPRISE_FIELDS = (
    "uscc",
    "name",
    "type",
    "legal_representative",
    "legal_representative_id_number",
    "registered_capital",
    "industry_code",
    "district",
    "address",
    "founded_on",
    "employees",
    "annual_revenue",
    "tax_credit_rating",
    "insured_headcount",
    "layoff_rate",
    "status",
)


# ----------------------------------------------------------------------------- demo people


def _demo():
    from tongban.demo import accounts

    return accounts


def demo_records(today: dt.date) -> dict[str, dict[str, Record | None]]:
    """{id number or credit code: {source: fields to set on top of the generated record}} for
    the hand-made demo people and companies; None removes a generated record."""
    a = _demo()
    mother, father, son = a._MOTHER, a._FATHER, a._SON
    elder, daughter_of_elder = a._ELDER, a._ELDER_DAUGHTER
    disabled, his_daughter = a._DISABLED, a._DAUGHTER
    rep, agent = a._REPRESENTATIVE, a._AGENT
    tech, restaurant = a._TECH, a._RESTAURANT
    home = mother.residence_address
    rng = random.Random(2026)
    last = today.replace(day=1) - dt.timedelta(days=1)
    paid = f"{last.year}-{last.month:02d}"
    wed = dt.date(2019, 10, 1)

    def marriage(p, spouse):
        return marriage_record(
            random.Random(f"{min(p.id_number, spouse.id_number)}"),
            _as_person(p),
            spouse.name,
            spouse.id_number,
            today,
            registered_on=wed,
        ) | {"marriage_cert_no": "J310104-2019-008866"}

    def job(employer, uscc, start):
        return {
            "insured": True,
            "insurance_type": "职工社会保险",
            "employer_name": employer,
            "employer_uscc": uscc or None,
            "insurance_start": start,
            "contribution_months": (today.year - start.year) * 12 + today.month - start.month,
            "last_paid_month": paid,
        }

    def degree(level, school, major, graduated, no):
        return {
            "education_level": level,
            "degree": {"本科": "学士", "硕士研究生": "硕士"}.get(level),
            "graduation_school": school,
            "major": major,
            "graduated_on": graduated,
            "diploma_no": no,
        }

    def house(*addresses_areas):
        return real_estate_record(
            [a for a, _ in addresses_areas], [Decimal(x) for _, x in addresses_areas], today
        )

    return {
        mother.id_number: {
            "mzj_marriage": marriage(mother, father),
            "rsj_insurance": job("示例市第一人民医院", "", dt.date(2017, 7, 1)),
            "jw_education": degree(
                "本科", "示例医科大学", "护理学", dt.date(2016, 6, 30), "10248120160500321"
            ),
            "ghzy_real_estate": house((home, "89.50")),
            "wjw_health": None,
            "ybzx_settlement": None,
            "ga_driver_health": None,
        },
        father.id_number: {
            "mzj_marriage": marriage(father, mother),
            "rsj_insurance": job("示例市城市建设有限公司", "", dt.date(2015, 8, 1)),
            "ga_driver_health": driver_exam(rng, today)
            | {"exam_no": "TJ20250610000901", "exam_date": today - dt.timedelta(days=90)},
            "ghzy_real_estate": house((home, "89.50")),
            "fgj_contract_filing": {
                "contract_no": "WQ2025XH00088",
                "property_address": home,
                "transaction_price": Decimal("6800000.00"),
                "filed_on": today - dt.timedelta(days=40),
            },
            "swj_tax_person": {
                "tax_voucher_no": "SW3101042025000888",
                "tax_type": "契税",
                "tax_paid_on": today - dt.timedelta(days=35),
                "tax_amount": Decimal("68000.00"),
            },
        },
        son.id_number: {
            # 李静 is his guardian: she applies for him (委托书或监护关系证明).
            "gaj_population": {
                "guardian_name": mother.name,
                "guardian_id_number": mother.id_number,
                "guardian_relation": "母亲",
            },
            "wjw_immunisation": immunisation_record(son.birth, rng, today)
            | {"vaccination_card_no": "YM20210315000909", "schedule_complete": True},
            "wjw_health": None,
            "ybzx_settlement": None,
        },
        elder.id_number: {
            "wjw_health": {
                "record_no": "BL20251100000904",
                "latest_diagnosis": "高血压病（2级）",
                "diagnosis_date": today - dt.timedelta(days=30),
                "hospital_name": "示例区社区卫生服务中心",
            },
            "ybzx_settlement": {
                "settlement_count": 14,
                "total_expense": Decimal("6820.00"),
                "out_of_pocket": Decimal("1364.00"),
                "last_settled_on": today - dt.timedelta(days=30),
            },
            "ghzy_real_estate": house((elder.residence_address, "52.30")),
            "mzj_marriage": {
                "marital_status": "丧偶",
                "registration_office": "示例市静安区婚姻登记处",
            },
        },
        daughter_of_elder.id_number: {
            "rsj_insurance": job("示例商贸有限公司", "", dt.date(2005, 3, 1)),
            "ghzy_real_estate": house(),
        },
        disabled.id_number: {
            "cl_disability": disability_card(disabled.id_number, 2, 3, rng, today)
            | {"card_issued_on": dt.date(2020, 4, 8), "card_valid_until": dt.date(2030, 4, 8)},
            "wjw_health": {
                "record_no": "BL20250900000903",
                "latest_diagnosis": "右下肢截肢术后（肢体残疾二级）",
                "diagnosis_date": today - dt.timedelta(days=60),
                "hospital_name": "示例市第六人民医院",
            },
            "ybzx_settlement": {
                "settlement_count": 9,
                "total_expense": Decimal("12450.00"),
                "out_of_pocket": Decimal("1867.50"),
                "last_settled_on": today - dt.timedelta(days=60),
            },
            "rsj_insurance": {
                "insured": True,
                "insurance_type": "灵活就业人员",
                "contribution_months": 180,
                "last_paid_month": paid,
            },
            "ghzy_real_estate": house(),
            "mzj_marriage": {
                "marital_status": "离婚",
                "registration_office": "示例市杨浦区婚姻登记处",
            },
        },
        his_daughter.id_number: {
            "gaj_population": {
                "guardian_name": disabled.name,
                "guardian_id_number": disabled.id_number,
                "guardian_relation": "父亲",
            },
            "jw_student": student_record(
                _as_person(his_daughter), school_stage(his_daughter.birth, today), rng, today
            )
            | {"school_name": "示例杨浦区第三小学", "student_no": f"G{his_daughter.id_number}"},
            "wjw_immunisation": immunisation_record(his_daughter.birth, rng, today)
            | {"vaccination_card_no": "YM20140602000908", "schedule_complete": True},
        },
        rep.id_number: {
            "rsj_insurance": job(tech.name, tech.uscc, dt.date(2018, 3, 1)),
            "ga_driver_health": driver_exam(rng, today)
            | {"exam_no": "TJ20250301000905", "exam_date": today - dt.timedelta(days=120)},
            "ghzy_real_estate": house((rep.residence_address, "126.80")),
            "ghzy_construction": {
                "project_code": "2024-310115-47-01-000905",
                "project_name": "浦东新区示例路1000弄10号住宅翻建工程（示例）",
                "planning_verified_on": today - dt.timedelta(days=75),
                "completion_filed_on": today - dt.timedelta(days=60),
                "completion_accepted": True,
            },
            "jw_education": degree(
                "硕士研究生",
                "示例理工大学",
                "计算机科学与技术",
                dt.date(2008, 6, 30),
                "10247120080200905",
            ),
        },
        agent.id_number: {
            "ga_residence_permit": {
                "permit_no": "3101120000000906",
                "permit_issued_on": dt.date(2021, 9, 1),
                "permit_valid_until": _next_anniversary(dt.date(2021, 9, 1), today),
                "permit_valid": True,
                "permit_address": agent.residence_address,
                "permit_points": 120,
            },
            "rsj_insurance": job(restaurant.name, restaurant.uscc, dt.date(2019, 4, 1)),
            "fgj_rental": {
                "rental_filing_no": "ZL202500000906",
                "rental_address": agent.residence_address,
                "lease_start": today - dt.timedelta(days=200),
                "lease_end": today + dt.timedelta(days=530),
                "lease_current": True,
            },
            "ghzy_real_estate": house(),
            "jw_education": degree(
                "本科", "示例财经大学", "会计学", dt.date(2012, 6, 30), "10272120120500906"
            ),
        },
    }


def _next_anniversary(start: dt.date, today: dt.date) -> dt.date:
    on = _on(today.year, start.month, start.day)
    return on if on > today else _add_years(on, 1)


def _as_person(p) -> Person:
    """A demo person (tongban.demo.accounts._Person) as the generators read people, with
    the household the demo accounts give them."""
    number, relation, income = next(
        (
            (number, relation, Decimal(income))
            for number, _district, members in _demo()._HOUSEHOLDS
            for member, relation, income in members
            if member.id_number == p.id_number
        ),
        ("", "", None),
    )
    return Person(
        id_number=p.id_number,
        name=p.name,
        birth=p.birth,
        sex="M" if int(p.id_number[16]) % 2 else "F",
        hukou_local=p.hukou_is_local,
        hukou_district=p.hukou_district,
        residence_district=p.residence_district,
        residence_address=p.residence_address,
        marital_status=p.marital_status,
        disability_grade=p.disability_grade,
        is_veteran=False,
        is_low_income=False,
        is_minimum_living=False,
        has_residence_permit=p.has_residence_permit,
        employment=p.employment_status,
        household_number=number,
        relation=relation,
        monthly_income=income,
    )


def demo_subjects() -> list[dict[str, Any]]:
    """Who answers what: for every (source, material) a data source definition `proves`, a
    subject whose record in the built store answers all of that proof's elements.

    Each row: {"source", "material", "subject" (who, in Chinese), "key" (the id number or
    credit code; None for a generated resident), "login" (demo username or ""),
    "profile_filter" (for a generated resident: ResidentProfile filter that finds one),
    "transport" ("http" | "inprocess": answered by the platform itself, not in the store)}.
    """
    a = _demo()
    people = {
        "resident1": (a._MOTHER, "李静（resident1）"),
        "father": (a._FATHER, "王磊（李静的丈夫）"),
        "son": (a._SON, "王小宇（李静的儿子）"),
        "resident2": (a._ELDER, "张桂英（resident2）"),
        "resident3": (a._DISABLED, "陈志强（resident3）"),
        "daughter": (a._DAUGHTER, "陈思雨（陈志强的女儿）"),
        "agent1": (a._REPRESENTATIVE, "周明（agent1）"),
        "agent2": (a._AGENT, "吴芳（agent2）"),
    }
    companies = {"tech": a._TECH, "restaurant": a._RESTAURANT}
    who = {
        ("gaj_population", "applicant_id_card"): "resident1",
        ("gaj_population", "father_id_card"): "father",
        ("gaj_population", "mother_id_card"): "resident1",
        ("gaj_population", "legal_rep_id_card"): "agent1",
        # 周明 and the restaurant company as the 股东 of a new company.
        ("gaj_population", "investor_identity_proof"): "agent1",
        ("scj_market_entity", "investor_identity_proof"): "restaurant",
        ("gaj_population", "household_register_book"): "resident1",
        ("gaj_population", "child_household_register_page"): "son",
        ("gaj_population", "applicant_photo"): "resident1",
        ("gaj_population", "agent_authorisation"): "son",
        ("ga_residence_permit", "residence_permit"): "agent2",
        ("ga_driver_health", "driver_health_certificate"): "agent1",
        ("scj_market_entity", "business_license"): "tech",
        ("cl_disability", "disability_certificate"): "resident3",
        ("mzj_marriage", "marriage_certificate"): "resident1",
        ("mzj_economy_check", "household_income_proof"): "resident3",
        ("wjw_health", "medical_records"): "resident3",
        ("wjw_immunisation", "vaccination_certificate"): "son",
        ("rsj_insurance", "employment_proof"): "agent2",
        ("rsj_unit_insurance", "insurance_payment_record"): "tech",
        ("swj_tax", "financial_statements"): "tech",
        ("swj_tax_person", "tax_payment_proof"): "father",
        ("ybzx_settlement", "medical_expense_receipts"): "resident3",
        ("ghzy_real_estate", "housing_status_proof"): "agent2",
        ("ghzy_construction", "completion_documents"): "agent1",
        ("fgj_contract_filing", "sale_contract"): "father",
        ("fgj_rental", "residence_proof"): "agent2",
        ("jw_student", "enrolment_proof"): "daughter",
        ("jw_student", "student_status_proof"): "daughter",
        ("jw_education", "education_certificate"): "agent2",
    }
    veteran = {"is_veteran": True}
    on_allowance = {"is_minimum_living_allowance": True}
    rows = []
    for source in source_definitions():
        for proof in source.proves:
            base = {
                "source": source.code,
                "material": proof.material,
                "elements": list(proof.elements),
                "transport": source.transport.kind,
                "login": "",
                "profile_filter": None,
            }
            slot = who.get((source.code, proof.material))
            if slot in companies:
                c = companies[slot]
                rows.append(base | {"subject": c.name, "key": c.uscc, "company": slot})
            elif slot in people:
                person, label = people[slot]
                login = slot if slot.startswith(("resident", "agent")) else ""
                rows.append(base | {"subject": label, "key": person.id_number, "login": login})
            elif source.code in ("tyj_veteran", "tyj_military_insurance"):
                rows.append(
                    base | {"subject": "生成的退役军人居民", "key": None, "profile_filter": veteran}
                )
            elif source.code == "mzj_assistance":
                # 陈志强's household lives on 1,200 元 a head but is not yet on 低保 (政策找人
                # finds it): the 救助对象 the store answers for are the generated ones.
                rows.append(
                    base
                    | {"subject": "生成的低保对象居民", "key": None, "profile_filter": on_allowance}
                )
            else:
                raise LookupError(f"没有演示对象能证明 {source.code}/{proof.material}")
    return rows


# ----------------------------------------------------------------------------- build


def source_definitions():
    from django.conf import settings

    from tongban.exchange.demo_sources.app import load_definitions

    return load_definitions(Path(settings.TONGBAN_CATALOG_DIR) / "data_sources")


def build(
    path: Path | str,
    *,
    progress: Progress | None = None,
    today: dt.date | None = None,
    batch_households: int = BATCH_HOUSEHOLDS,
    if_changed: bool = False,
) -> dict[str, int]:
    """Write the department systems' store at PATH from the platform's demo population;
    returns {source code: records}. Replaces PATH atomically. IF_CHANGED: keep the store
    when it was built today from the same population and definitions (`make run` calls this
    on every start; a million residents take minutes to rewrite)."""
    from django.utils import timezone

    today = today or timezone.localdate()
    sources = [s for s in source_definitions() if s.transport.kind == "http"]
    stamp = _stamp(sources, today)
    if if_changed:
        kept = _kept(Path(path), stamp)
        if kept is not None:
            return kept
    store = _Store(Path(path), [s.code for s in sources], _now_iso())
    try:
        _build(store, today, progress, batch_households)
        store.conn.execute("CREATE TABLE _meta (name TEXT PRIMARY KEY, value TEXT)")
        store.conn.execute("INSERT INTO _meta VALUES ('stamp', ?)", (stamp,))
    except BaseException:
        store.close(commit=False)
        raise
    return store.close(commit=True)


def _stamp(sources, today: dt.date) -> str:
    """What the store was built from: the day, the definitions, the population's size and
    last change."""
    from django.db.models import Count, Max

    from tongban.accounts.models import Enterprise, Household, ResidentProfile

    parts = [today.isoformat(), *(s.model_dump_json() for s in sources)]
    for model in (ResidentProfile, Enterprise):
        facts = model.objects.aggregate(n=Count("id"), top=Max("id"), at=Max("updated_at"))
        parts.append(f"{facts['n']}:{facts['top']}:{facts['at']}")
    parts.append(str(Household.objects.aggregate(n=Count("id"))["n"]))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _kept(path: Path, stamp: str) -> dict[str, int] | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM _meta WHERE name = 'stamp'").fetchone()
        if not row or row[0] != stamp:
            return None
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            for t in tables
            if t != "_meta"
        }
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def _build(store: _Store, today: dt.date, progress: Progress | None, batch: int) -> None:
    from tongban.accounts.models import Enterprise, ResidentProfile

    employers = [
        (name, uscc)
        for name, uscc in Enterprise.objects.filter(
            status="active", type__in=["llc", "joint_stock"]
        )
        .order_by("id")
        .values_list("name", "uscc")[:500]
    ]
    gen = _Generator(today, employers)
    done = 0
    for members in _households(ResidentProfile, batch):
        grouped: dict[str, dict[str, Record]] = {}
        for household in members:
            for code, rows in gen.household(household).items():
                grouped.setdefault(code, {}).update(rows)
        for code, rows in grouped.items():
            store.write(code, rows)
        done += sum(len(h) for h in members)
        if progress:
            progress("residents", done)

    done = 0
    last = 0
    while True:
        rows = list(
            Enterprise.objects.filter(id__gt=last)
            .order_by("id")
            .values("id", *_ENTERPRISE_FIELDS)[:BATCH_ENTERPRISES]
        )
        if not rows:
            break
        last = rows[-1]["id"]
        grouped = {}
        reps: dict[str, Record] = {}
        for e in rows:
            for code, record in enterprise_records(e, today).items():
                grouped.setdefault(code, {})[e["uscc"]] = record
            rep_id = e["legal_representative_id_number"]
            if rep_id and len(rep_id) == 18:
                reps[rep_id] = representative_record(e["legal_representative"], rep_id, today)
        for code, recs in grouped.items():
            store.write(code, recs)
        # A resident's own record, written above, wins over the one from the register.
        store.write("gaj_population", reps, replace=False)
        done += len(rows)
        if progress:
            progress("enterprises", done)

    _apply_demo(store, today)


def _households(model, batch: int) -> Iterator[list[list[Person]]]:
    """Batches of households (each a list of members), then residents without one, one by
    one; keyset-paginated so memory stays bounded."""
    qs = model.objects.filter(household__isnull=False)
    last = 0
    while True:
        ids = list(
            qs.filter(household_id__gt=last)
            .order_by("household_id")
            .values_list("household_id", flat=True)
            .distinct()[:batch]
        )
        if not ids:
            break
        last = ids[-1]
        homes: dict[int, list[Person]] = {}
        for row in qs.filter(household_id__gte=ids[0], household_id__lte=last).values_list(
            *_PROFILE_FIELDS
        ):
            homes.setdefault(row[-1], []).append(_person(row))
        yield list(homes.values())
    last = 0
    alone = model.objects.filter(household__isnull=True)
    while True:
        rows = list(
            alone.filter(id__gt=last).order_by("id").values_list(*_PROFILE_FIELDS, "id")[:5000]
        )
        if not rows:
            break
        last = rows[-1][-1]
        yield [[_person(r[:-1])] for r in rows]


def _apply_demo(store: _Store, today: dt.date) -> None:
    """Lay the hand-made demo records over the generated ones (or make them, when the demo
    people are not in this database: the store still answers for them)."""
    a = _demo()
    conn = store.conn
    people = {
        p.id_number: p
        for p in (
            a._MOTHER,
            a._FATHER,
            a._SON,
            a._ELDER,
            a._ELDER_DAUGHTER,
            a._DISABLED,
            a._DAUGHTER,
            a._REPRESENTATIVE,
            a._AGENT,
        )
    }
    gen = _Generator(today, [])
    for key, changes in demo_records(today).items():
        for code, fields in changes.items():
            if code not in store.counts:
                continue
            row = conn.execute(f'SELECT data FROM "{code}" WHERE key = ?', (key,)).fetchone()
            if fields is None:
                conn.execute(f'DELETE FROM "{code}" WHERE key = ?', (key,))
                continue
            current = json.loads(row[0]) if row else {}
            if not row and code == "gaj_population" and key in people:
                current = _wire(gen.population(_as_person(people[key]), 0, None))
            # A field set to None: the system holds no such element for them.
            for name, value in fields.items():
                current.pop(name, None)
                if value is not None:
                    current.update(_wire({name: value}))
            store.write(code, {key: current})
    for key, p in people.items():
        # The demo people answer the population register even in a bare test database.
        store.write(
            "gaj_population",
            {key: gen.population(_as_person(p), _age(p.birth, today), None)},
            replace=False,
        )
    for company in (a._TECH, a._RESTAURANT):
        values = {
            "uscc": company.uscc,
            "name": company.name,
            "type": company.type,
            "legal_representative": company.legal_representative,
            "registered_capital": company.registered_capital,
            "industry_code": company.industry_code,
            "district": company.district,
            "address": company.address,
            "founded_on": company.founded_on,
            "employees": company.employees,
            "status": "active",
            "annual_revenue": None,
            "tax_credit_rating": "",
            "insured_headcount": None,
            "layoff_rate": None,
            **company.facts,
        }
        for code, record in enterprise_records(values, today).items():
            store.write(code, {company.uscc: record}, replace=False)
        store.write(
            "gaj_population",
            {
                company.legal_representative_id_number: representative_record(
                    company.legal_representative, company.legal_representative_id_number, today
                )
            },
            replace=False,
        )
