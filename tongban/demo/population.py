"""The demo city's synthetic population: residents (一人一档) and enterprises (一企一档).

Every person and enterprise made here is invented and flagged `is_synthetic`. They look like
Shanghai's: district shares, an ageing population, a large non-local (外省市户籍) working-age
group, valid 身份证号码 and 统一社会信用代码, and welfare attributes at roughly the city's
rates, so policy matching and dashboards have something realistic to chew on.

Speed: a million residents must load in minutes on two cores with bounded memory. Names,
streets and brand names are pooled once (Faker per row is ~100x slower); each row is then a
few dozen draws from one seeded `random.Random`; rows are written in batches with
`bulk_create`, which runs every field's `get_prep_value`, so encrypted columns are encrypted
exactly as `save()` would encrypt them.

Reproducibility: the same seed on the same starting database gives the same people. The count
of rows already present is mixed into the seed, so topping up a population adds new people
instead of replaying the first ones with fresh sequence numbers.

Uniqueness of 身份证号码, by construction rather than by luck:
- An ID number is region + birth date + 顺序码 (3 digits, odd = male) + check digit. The
  generator hands out 顺序码 from a counter per (birth date, sex): seq = 2 * n + (1 if male).
  Two people it makes on the same day and sex can never share a 顺序码, whatever their region.
- A run starts each counter at the number of residents already stored with that birth date
  and sex (a plain, indexed column; the ID itself is encrypted). Earlier runs used exactly
  the counters below that, so a second run continues where the first stopped.
- Counters stop at 450 (顺序码 000-899). 900-999 are reserved for hand-made demo people
  (`tongban.demo.accounts`), which therefore never collide with generated ones. A full day
  moves the birth to the next day with room.
- Rows made elsewhere (a clerk typing in a real number, a test factory) can still hold any
  number, so each batch's hashes are checked against the table before insert and a clash
  takes the next 顺序码. The unique index on `id_number_hash` stays the final guard.
Enterprises get the same treatment with one global counter mapped bijectively onto the
embedded organisation code (GB 11714), starting at the number of enterprises already stored.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate, pairwise
from operator import mul

from django.db import transaction
from django.db.models import Count
from faker import Faker
from tqdm import tqdm

from tongban.accounts.models import District, Enterprise, ResidentProfile
from tongban.accounts.validators import USCC_ALPHABET, org_code_check_char, uscc_check_char
from tongban.common.crypto import lookup_hash

ID_NUMBER_HASH_CONTEXT = "resident.id_number"

# Ages are computed at this date, not "today", so a seed gives the same people next year.
# Every birth date is on or before it, so every ID number stays valid (no future births) and a
# person old enough to be married at the reference date is old enough on any later day.
REFERENCE_DATE = dt.date(2025, 12, 31)
FIRST_BIRTH_YEAR = 1930
_EPOCH_ORDINAL = dt.date(FIRST_BIRTH_YEAR, 1, 1).toordinal()
_N_DAYS = REFERENCE_DATE.toordinal() - _EPOCH_ORDINAL + 1

# 顺序码 = 2 * slot' + sex bit, slot' a fixed shuffle of slots 0-449, so 000-899 are used and the
# first people of a day do not all get 000 and 001. 900-999 belong to hand-made demo people.
GENERATED_SEQ_SLOTS = 450
_SLOT_STRIDE = 137  # coprime with 450: slot -> (slot * 137 + 11) % 450 is a permutation
DEMO_SEQ_FIRST = 900

_SEX_INDEX = {"F": 0, "M": 1}
# Stops a batch from becoming one enormous IN (...) list; SQLite caps bound parameters.
_IN_CHUNK = 900


# ----------------------------------------------------------------------------- code tables


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


@dataclass(frozen=True)
class _Weighted:
    """Values with weights, drawn with one random() and a bisect (random.choices per row
    rebuilds its cumulative table every call)."""

    values: tuple
    cum: tuple[float, ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[object, float]]) -> _Weighted:
        return cls(tuple(v for v, _ in pairs), tuple(_cumulative([w for _, w in pairs])))

    def draw(self, rnd: Callable[[], float]):
        return self.values[bisect(self.cum, rnd() * self.cum[-1])]


_DISTRICT_LABEL = dict(District.choices)

# 常住人口 by district, 2020 census, millions (where people live and work).
_RESIDENCE_WEIGHTS = {
    "310115": 5.68, "310112": 2.65, "310113": 2.23, "310117": 1.91, "310114": 1.83,
    "310118": 1.27, "310110": 1.24, "310107": 1.24, "310120": 1.14, "310104": 1.11,
    "310106": 0.98, "310116": 0.82, "310109": 0.76, "310105": 0.69, "310101": 0.66,
    "310151": 0.64,
}  # fmt: skip
# 户籍人口 lean towards the old centre and away from the migrant-heavy outer districts.
_HUKOU_WEIGHTS = {
    "310115": 3.2, "310112": 1.2, "310113": 1.0, "310117": 0.67, "310114": 0.68,
    "310118": 0.5, "310110": 1.08, "310107": 0.87, "310120": 0.55, "310104": 0.93,
    "310106": 0.94, "310116": 0.53, "310109": 0.7, "310105": 0.59, "310101": 0.82,
    "310151": 0.67,
}  # fmt: skip
RESIDENCE_DISTRICTS = _Weighted.of(list(_RESIDENCE_WEIGHTS.items()))
HUKOU_DISTRICTS = _Weighted.of(list(_HUKOU_WEIGHTS.items()))

# An ID number keeps the code of the district that issued it. Districts merged since then
# (南市 2000, 卢湾 2011, 闸北 2015, 南汇 2009, 崇明县 2016) still appear on older people's cards.
# (district now, former code, registered before year, share of those people)
_FORMER_CODES: dict[str, tuple[tuple[str, int, float], ...]] = {
    "310101": (("310102", 2000, 0.25), ("310103", 2011, 0.30)),
    "310106": (("310108", 2015, 0.55),),
    "310115": (("310119", 2009, 0.20),),
    "310151": (("310230", 2016, 0.95),),
}

# Where non-local residents' ID numbers come from: real GB/T 2260 county-level codes, weighted
# roughly by each province's share of Shanghai's migrant population.
_OTHER_PROVINCES: tuple[tuple[float, tuple[str, ...]], ...] = (
    (26, ("340102", "340104", "341202", "341302", "340302", "341102")),  # 安徽
    (15, ("320102", "320581", "320623", "321302", "320382", "320902")),  # 江苏
    (10, ("410102", "411302", "411502")),  # 河南
    (6, ("510104", "511302", "510722")),  # 四川
    (5, ("330102", "330302", "330381")),  # 浙江
    (5, ("360102", "361102", "360502")),  # 江西
    (4, ("420102", "421102")),  # 湖北
    (4, ("370102", "370202")),  # 山东
    (3, ("350102",)),  # 福建
    (3, ("430102",)),  # 湖南
    (3, ("500101", "500102")),  # 重庆
    (2, ("230102",)),  # 黑龙江
    (2, ("130102",)),  # 河北
    (2, ("610102",)),  # 陕西
    (2, ("110101", "110105")),  # 北京
    (1.5, ("440103", "440304")),  # 广东
    (1.5, ("140105",)),  # 山西
    (1, ("620102",)),  # 甘肃
    (1, ("520102",)),  # 贵州
    (1, ("530102",)),  # 云南
    (1, ("450102",)),  # 广西
    (1, ("210102",)),  # 辽宁
    (1, ("220102",)),  # 吉林
)
OTHER_PROVINCE_REGIONS = _Weighted.of(
    [(code, weight / len(codes)) for weight, codes in _OTHER_PROVINCES for code in codes]
)


def _year_weights(anchors: Sequence[tuple[int, float]]) -> _Weighted:
    """Birth-year weights, linear between anchor years, 1930 to the reference year."""
    pairs = []
    for year in range(FIRST_BIRTH_YEAR, REFERENCE_DATE.year + 1):
        for (y0, w0), (y1, w1) in pairwise(anchors):
            if y0 <= year <= y1:
                pairs.append((year, w0 + (w1 - w0) * (year - y0) / (y1 - y0)))
                break
    return _Weighted.of(pairs)


# Shanghai's pyramid: few over 90, the 1950s-60s baby boom now retiring, their children born
# in the late 1980s, and few births since (fertility well under 1).
LOCAL_BIRTH_YEARS = _year_weights(
    [(1930, 0.08), (1935, 0.25), (1940, 0.55), (1947, 1.0), (1953, 1.5), (1958, 1.4),
     (1963, 1.8), (1968, 1.3), (1975, 0.85), (1982, 0.95), (1988, 1.15), (1992, 0.9),
     (2000, 0.65), (2008, 0.75), (2014, 0.9), (2017, 0.8), (2020, 0.55), (2025, 0.4)]
)  # fmt: skip
# Non-local residents came to work: mostly born 1970-2000, plus their children.
MIGRANT_BIRTH_YEARS = _year_weights(
    [(1930, 0.0), (1950, 0.05), (1960, 0.3), (1965, 0.6), (1970, 1.0), (1980, 1.6),
     (1988, 2.2), (1995, 2.0), (2000, 1.2), (2005, 0.6), (2012, 0.7), (2018, 0.6),
     (2025, 0.35)]
)  # fmt: skip
LOCAL_SHARE = 0.58  # 户籍 share of 常住人口, about 14.8 of 24.9 million (2020)
MALE_SHARE = 0.517  # 常住人口 sex ratio 107 : 100

_YEAR_START = {
    y: dt.date(y, 1, 1).toordinal() - _EPOCH_ORDINAL
    for y in range(FIRST_BIRTH_YEAR, REFERENCE_DATE.year + 1)
}
_YEAR_DAYS = {
    y: (dt.date(y + 1, 1, 1).toordinal() if y < REFERENCE_DATE.year else _N_DAYS + _EPOCH_ORDINAL)
    - dt.date(y, 1, 1).toordinal()
    for y in _YEAR_START
}

PHONE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "185",
    "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip

# (up to age, [(status, cumulative probability)]); the rest of each band is unmarried. Below the
# legal age (22 men, 20 women) everyone is unmarried.
_MARITAL_BANDS: tuple[tuple[int, tuple[tuple[str, float], ...]], ...] = (
    (25, (("married", 0.15),)),
    (30, (("married", 0.45), ("divorced", 0.47))),
    (40, (("married", 0.80), ("divorced", 0.86), ("widowed", 0.863))),
    (60, (("married", 0.86), ("divorced", 0.93), ("widowed", 0.96))),
    (75, (("married", 0.78), ("divorced", 0.83), ("widowed", 0.96))),
    (200, (("married", 0.45), ("divorced", 0.47), ("widowed", 0.97))),
)

EMPLOYMENT_STATUSES = ("学龄前", "在校学生", "在职", "灵活就业", "个体经营", "失业", "退休")

# 残疾人证 grades 1 (most severe) to 4, more common in old age. Rates give about 3% overall.
_DISABILITY_RATE_UNDER_60 = 0.016
_DISABILITY_RATE_60_PLUS = 0.075
_DISABILITY_GRADES = _Weighted.of([(1, 12), (2, 22), (3, 30), (4, 36)])
# Veterans: about 1.5% of adults, nearly all men, old enough to have served.
_VETERAN_RATE_MALE = 0.029
_VETERAN_RATE_FEMALE = 0.0035
# 最低生活保障 (~1%) and 低收入 (~2%) are separate, exclusive tiers of social assistance.
_MINIMUM_LIVING_RATE = 0.01
_LOW_INCOME_RATE = 0.02
# 居住证: most adult non-locals hold one; children fewer (their parents apply for them).
_PERMIT_RATE_ADULT = 0.85
_PERMIT_RATE_CHILD = 0.40

# Characters popular for children born since 2005 (子涵, 梓轩, 欣怡); Faker's lists are older names.
_MODERN_MALE = "子梓浩宇轩睿泽辰博晨铭一俊皓沐逸航嘉昊"
_MODERN_FEMALE = "子梓涵欣怡诗雨梦可思若一语晨悦萱佳琪"


# ----------------------------------------------------------------------------- name pools


@dataclass(frozen=True)
class NamePools:
    surnames: _Weighted
    male: tuple[str, ...]
    female: tuple[str, ...]
    male_chars: tuple[str, ...]
    female_chars: tuple[str, ...]
    streets: tuple[str, ...]
    brands: tuple[str, ...]

    @classmethod
    def build(cls, seed: int) -> NamePools:
        from faker.providers.company.zh_CN import Provider as CompanyProvider
        from faker.providers.person.zh_CN import Provider as PersonProvider

        male = tuple(PersonProvider.first_names_male)
        female = tuple(PersonProvider.first_names_female)
        faker = Faker("zh_CN")
        faker.seed_instance(seed)
        # Faker's street names are city names + 路/街, as many of Shanghai's roads are.
        streets = tuple(sorted({faker.street_name() for _ in range(600)}))
        brands = tuple(
            sorted({p for p in CompanyProvider.company_prefixes if len(p) == 2} | _own_brands())
        )
        return cls(
            surnames=_Weighted.of(list(PersonProvider.last_names.items())),
            male=male,
            female=female,
            male_chars=tuple(sorted({c for n in male for c in n})),
            female_chars=tuple(sorted({c for n in female for c in n})),
            streets=streets,
            brands=brands,
        )

    def person(self, rng: random.Random, *, male: bool, birth_year: int) -> str:
        """A surname and a one- or two-character given name in the style of the birth era."""
        surname = self.surnames.draw(rng.random)
        u = rng.random()
        if birth_year >= 2005 and u < 0.6:
            modern = _MODERN_MALE if male else _MODERN_FEMALE
            return surname + rng.choice(modern) + rng.choice(modern)
        if u < 0.75:
            return surname + rng.choice(self.male if male else self.female)
        chars = self.male_chars if male else self.female_chars
        return surname + rng.choice(chars) + rng.choice(chars)


def _own_brands() -> set[str]:
    first = "华信达恒瑞泰盛鑫隆宏联源丰嘉和德安康锦博创汇申浦沪海东新"
    second = "通达科晟远兴荣昌祥辉成誉弘茂泰鸿智尚"
    return {a + b for a in first for b in second if a != b}


# ----------------------------------------------------------------------------- ID numbers

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """GB 11643 check character (same result as validators.id_number_check_char, written
    for a million calls a run)."""
    return _ID_CHECK[sum(map(mul, map(int, first17), _ID_WEIGHTS)) % 11]


def id_number(region: str, birth: dt.date, seq: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def id_number_hash(number: str) -> str:
    return lookup_hash(number, context=ID_NUMBER_HASH_CONTEXT)


class SeqCounters:
    """Next free 顺序码 slot per (birth day, sex), seeded from the rows already stored."""

    def __init__(self) -> None:
        self._next = [[0] * _N_DAYS, [0] * _N_DAYS]  # [sex][day index]

    @classmethod
    def from_database(cls) -> SeqCounters:
        counters = cls()
        rows = (
            ResidentProfile.objects.filter(
                birth_date__gte=dt.date.fromordinal(_EPOCH_ORDINAL),
                birth_date__lte=REFERENCE_DATE,
            )
            .values_list("birth_date", "sex")
            .annotate(n=Count("id"))
            .order_by()
        )
        for birth, sex, n in rows:
            if sex in _SEX_INDEX:
                counters._next[_SEX_INDEX[sex]][birth.toordinal() - _EPOCH_ORDINAL] = n
        return counters

    def take(self, day: int, male: bool) -> tuple[int, int]:
        """(day, 顺序码) for the next person born on DAY (index from 1930-01-01) of this sex.
        A day whose slots are used up moves to the next day with room."""
        row = self._next[1 if male else 0]
        for _ in range(_N_DAYS):
            slot = row[day]
            if slot < GENERATED_SEQ_SLOTS:
                row[day] = slot + 1
                shuffled = (slot * _SLOT_STRIDE + 11) % GENERATED_SEQ_SLOTS
                return day, 2 * shuffled + (1 if male else 0)
            day = day + 1 if day + 1 < _N_DAYS else 0
        raise RuntimeError("every 顺序码 of every day is used; the population cannot grow")


# ----------------------------------------------------------------------------- residents


@dataclass
class _Identity:
    region: str
    day: int
    male: bool
    birth: dt.date
    number: str
    hash: str


class ResidentMaker:
    """Makes resident rows (field dicts for ResidentProfile), one seeded stream of draws."""

    def __init__(self, *, seed: int | str, counters: SeqCounters, pools: NamePools) -> None:
        self.rng = random.Random(seed)
        self.counters = counters
        self.pools = pools

    def identity(self, region: str, day: int, male: bool) -> _Identity:
        day, seq = self.counters.take(day, male)
        birth = dt.date.fromordinal(_EPOCH_ORDINAL + day)
        number = id_number(region, birth, seq)
        return _Identity(region, day, male, birth, number, id_number_hash(number))

    def make(self) -> tuple[_Identity, dict]:
        rng = self.rng
        rnd = rng.random
        local = rnd() < LOCAL_SHARE
        male = rnd() < MALE_SHARE
        year = (LOCAL_BIRTH_YEARS if local else MIGRANT_BIRTH_YEARS).draw(rnd)
        day = _YEAR_START[year] + int(rnd() * _YEAR_DAYS[year])

        if local:
            hukou = HUKOU_DISTRICTS.draw(rnd)
            u = rnd()
            if u < 0.70:
                region = _issuing_code(hukou, year, rnd)
            elif u < 0.88:  # moved within the city after the card was issued
                region = _issuing_code(RESIDENCE_DISTRICTS.draw(rnd), year, rnd)
            else:  # settled here later (人才引进, marriage): the card keeps the old province
                region = OTHER_PROVINCE_REGIONS.draw(rnd)
            residence = hukou if rnd() < 0.75 else RESIDENCE_DISTRICTS.draw(rnd)
        else:
            hukou = ""
            region = OTHER_PROVINCE_REGIONS.draw(rnd)
            residence = RESIDENCE_DISTRICTS.draw(rnd)

        ident = self.identity(region, day, male)
        birth = ident.birth
        age = (
            REFERENCE_DATE.year
            - birth.year
            - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day))
        )

        disability = None
        if rnd() < (_DISABILITY_RATE_60_PLUS if age >= 60 else _DISABILITY_RATE_UNDER_60):
            disability = _DISABILITY_GRADES.draw(rnd)
        veteran = age >= 20 and rnd() < (_VETERAN_RATE_MALE if male else _VETERAN_RATE_FEMALE)
        u = rnd()
        minimum_living = u < _MINIMUM_LIVING_RATE
        low_income = not minimum_living and u < _MINIMUM_LIVING_RATE + _LOW_INCOME_RATE
        permit = not local and rnd() < (_PERMIT_RATE_ADULT if age >= 16 else _PERMIT_RATE_CHILD)

        pools = self.pools
        fields = {
            "name": pools.person(rng, male=male, birth_year=birth.year),
            "id_number": ident.number,
            "id_number_hash": ident.hash,
            "birth_date": birth,
            "sex": "M" if male else "F",
            # Children under 12 rarely have a number of their own.
            "phone": (
                f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(100_000_000):08d}" if age >= 12 else ""
            ),
            "hukou_district": hukou,
            "hukou_is_local": local,
            "residence_district": residence,
            "residence_address": (
                f"上海市{_DISTRICT_LABEL[residence]}{rng.choice(pools.streets)}"
                f"{rng.randint(1, 999)}弄{rng.randint(1, 60)}号"
                f"{rng.randint(1, 24)}{rng.randint(1, 4):02d}室"
            ),
            "marital_status": _marital_status(age, male, rnd),
            "disability_grade": disability,
            "is_veteran": veteran,
            "is_low_income": low_income,
            "is_minimum_living_allowance": minimum_living,
            "has_residence_permit": permit,
            "employment_status": _employment_status(age, male, rnd),
            "is_synthetic": True,
        }
        return ident, fields


def _issuing_code(district: str, birth_year: int, rnd: Callable[[], float]) -> str:
    for former, before, share in _FORMER_CODES.get(district, ()):
        if birth_year < before and rnd() < share:
            return former
    return district


def _marital_status(age: int, male: bool, rnd: Callable[[], float]) -> str:
    if age < (22 if male else 20):
        return "unmarried"
    u = rnd()
    for up_to, bands in _MARITAL_BANDS:
        if age < up_to:
            for status, cum in bands:
                if u < cum:
                    return status
            return "unmarried"
    return "unmarried"


def _employment_status(age: int, male: bool, rnd: Callable[[], float]) -> str:
    if age < 6:
        return "学龄前"
    if age < 18:
        return "在校学生"
    u = rnd()
    if age < 23:
        if u < 0.55:
            return "在校学生"
        return "在职" if u < 0.90 else "灵活就业" if u < 0.95 else "失业"
    # Statutory retirement ages before the 2025 reform: 60 men, 55 (cadres) or 50 women.
    if age >= (60 if male else 55):
        return "退休" if u < 0.97 else "在职"
    if u < 0.80:
        return "在职"
    if u < 0.89:
        return "灵活就业"
    if u < 0.95:
        return "个体经营"
    return "失业"


def _chunks(values: list, size: int) -> Iterator[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _taken(model, column: str, values: list[str]) -> set[str]:
    taken: set[str] = set()
    for chunk in _chunks(values, _IN_CHUNK):
        taken.update(
            model.objects.filter(**{f"{column}__in": chunk}).values_list(column, flat=True)
        )
    return taken


def _progress(total: int, desc: str, unit: str, enabled: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=not enabled)


def generate_residents(
    *, count: int, seed: int, batch_size: int = 5000, progress: bool = True
) -> int:
    """Add COUNT synthetic residents; returns how many were stored.

    Memory stays at one batch of rows plus the per-day counters (~70k ints), whatever COUNT.
    Each batch commits on its own, so an interrupted run keeps whole batches and a rerun
    (e.g. city_setup) tops up from there.
    """
    if count <= 0:
        return 0
    existing = ResidentProfile.objects.count()
    maker = ResidentMaker(
        seed=_mixed_seed("residents", seed, existing),
        counters=SeqCounters.from_database(),
        pools=NamePools.build(seed),
    )
    created = 0
    with _progress(count, "居民档案", "人", progress) as bar:
        while created < count:
            n = min(batch_size, count - created)
            made = [maker.make() for _ in range(n)]
            _reissue_taken_numbers(maker, made)
            with transaction.atomic():
                ResidentProfile.objects.bulk_create(
                    [ResidentProfile(**fields) for _, fields in made], batch_size=batch_size
                )
            created += n
            bar.update(n)
    return created


def _reissue_taken_numbers(maker: ResidentMaker, made: list[tuple[_Identity, dict]]) -> None:
    """Give the next 顺序码 to anyone whose number a row made elsewhere already holds."""
    pending = made
    while pending:
        taken = _taken(ResidentProfile, "id_number_hash", [ident.hash for ident, _ in pending])
        clashes = [(ident, fields) for ident, fields in pending if ident.hash in taken]
        for i, (ident, fields) in enumerate(clashes):
            fresh = maker.identity(ident.region, ident.day, ident.male)
            fields.update(id_number=fresh.number, id_number_hash=fresh.hash, birth_date=fresh.birth)
            clashes[i] = (fresh, fields)
        pending = clashes


def _mixed_seed(kind: str, seed: int, existing: int) -> str:
    # A str seed is hashed with SHA-512 by random.Random: stable across processes and
    # PYTHONHASHSEED, unlike hash() of a tuple.
    return f"tongban-demo:{kind}:{seed}:{existing}"


# ----------------------------------------------------------------------------- enterprises


@dataclass(frozen=True)
class Industry:
    code: str  # GB/T 4754-2017 class (4 digits)
    label: str
    trade: str  # the 行业表述 in a company name: 示例（上海）XX{trade}有限公司
    shop: str  # what an 个体工商户 in this class calls itself, "" if none would
    weight: float


# Classes common among Shanghai's registrations; weights are rough shares of new companies.
INDUSTRIES: tuple[Industry, ...] = (
    Industry("6513", "应用软件开发", "软件科技", "", 6),
    Industry("6520", "集成电路设计", "微电子科技", "", 1),
    Industry("6531", "信息系统集成服务", "信息技术", "", 3),
    Industry("6560", "信息技术咨询服务", "信息科技", "", 4),
    Industry("6450", "互联网数据服务", "数据科技", "", 1.5),
    Industry("6432", "互联网生活服务平台", "网络科技", "", 2),
    Industry("7320", "工程和技术研究和试验发展", "生物科技", "", 2),
    Industry("7514", "节能技术推广服务", "新能源科技", "", 1.5),
    Industry("7513", "新材料技术推广服务", "新材料科技", "", 1),
    Industry("5132", "服装批发", "服饰", "服装店", 3),
    Industry("5124", "肉、禽、蛋、奶及水产品批发", "食品", "", 1.5),
    Industry("5212", "超级市场零售", "商贸", "超市", 2),
    Industry("5213", "便利店零售", "便利连锁", "便利店", 3),
    Industry("5221", "粮油零售", "粮油", "粮油店", 1.5),
    Industry("5223", "果品、蔬菜零售", "果蔬", "水果店", 2.5),
    Industry("5292", "互联网零售", "电子商务", "网店", 4),
    Industry("5261", "汽车新车零售", "汽车销售", "", 1),
    Industry("6210", "正餐服务", "餐饮管理", "饭店", 4),
    Industry("6220", "快餐服务", "餐饮", "小吃店", 4),
    Industry("6232", "咖啡馆服务", "咖啡", "咖啡馆", 1.5),
    Industry("6121", "一般旅馆", "酒店管理", "旅馆", 1),
    Industry("5431", "普通货物道路运输", "物流", "货运部", 2.5),
    Industry("5821", "货物运输代理", "国际货运代理", "", 2),
    Industry("6020", "快递服务", "快递", "快递服务部", 1),
    Industry("7010", "房地产开发经营", "置业", "", 1),
    Industry("7020", "物业管理", "物业管理", "", 2),
    Industry("7030", "房地产中介服务", "房地产经纪", "房产中介", 1.5),
    Industry("7212", "投资与资产管理", "投资管理", "", 2),
    Industry("7241", "会计、审计及税务服务", "财务咨询", "", 1.5),
    Industry("7243", "社会经济咨询", "企业管理咨询", "", 5),
    Industry("7259", "其他广告服务", "广告", "广告部", 2.5),
    Industry("7281", "科技会展服务", "会展服务", "", 1),
    Industry("7484", "工程设计活动", "建筑设计", "", 1),
    Industry("7492", "专业设计服务", "文化创意", "设计工作室", 2),
    Industry("5012", "住宅装饰和装修", "装饰工程", "装潢部", 3),
    Industry("4910", "电气安装", "机电工程", "", 1),
    Industry("3670", "汽车零部件及配件制造", "汽车零部件", "", 1),
    Industry("3581", "医疗诊断、监护及治疗设备制造", "医疗器械", "", 1),
    Industry("2720", "化学药品制剂制造", "医药", "", 0.5),
    Industry("8040", "理发及美容服务", "美容美发", "理发店", 2.5),
    Industry("8010", "家庭服务", "家政服务", "家政服务部", 1.5),
    Industry("8393", "文化艺术培训", "文化艺术培训", "", 1),
    Industry("8514", "老年人、残疾人养护服务", "养老服务", "", 0.5),
    Industry("7111", "汽车租赁", "汽车租赁", "", 0.5),
    Industry("0141", "蔬菜种植", "农业科技", "蔬菜种植场", 0.5),
)
_INDUSTRY_BY_WEIGHT = _Weighted.of([(i, i.weight) for i in INDUSTRIES])
_SHOP_INDUSTRIES = _Weighted.of([(i, i.weight) for i in INDUSTRIES if i.shop])

# Registered offices: besides Pudong and the outer districts, Chongming hosts many companies
# whose only presence is a registered address in an 经济小区.
_ENTERPRISE_DISTRICTS = _Weighted.of(
    [("310115", 22), ("310151", 9), ("310114", 8), ("310117", 8), ("310112", 8),
     ("310120", 7), ("310118", 6), ("310113", 6), ("310116", 5), ("310104", 4),
     ("310106", 4), ("310101", 3), ("310105", 3), ("310107", 3), ("310110", 3),
     ("310109", 3)]
)  # fmt: skip
_ENTERPRISE_TYPES = _Weighted.of(
    [("llc", 62), ("individual", 22), ("foreign", 6), ("sole", 4), ("partnership", 3),
     ("joint_stock", 3)]
)  # fmt: skip
_ENTERPRISE_STATUS = _Weighted.of(
    [("active", 86), ("deregistered", 9), ("revoked", 3), ("suspended", 2)]
)
# Registrations grew almost every year until the 2020s.
_FOUNDING_YEARS = _Weighted.of(
    [(y, w) for y, w in zip(range(1990, 2026), [
        0.1, 0.1, 0.15, 0.2, 0.25, 0.3, 0.3, 0.3, 0.35, 0.35, 0.4, 0.45, 0.5, 0.6, 0.65, 0.7,
        0.75, 0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.4, 2.7, 3.0, 3.1, 2.9, 3.2, 2.8,
        3.0, 2.9, 2.8], strict=True)]
)  # fmt: skip
_CAPITAL = {  # 万元
    "llc": (10, 30, 50, 100, 100, 100, 200, 300, 500, 500, 1000, 2000, 5000),
    "individual": (1, 2, 3, 5, 5, 10, 20, 30, 50),
    "sole": (5, 10, 10, 20, 50, 100),
    "partnership": (100, 300, 500, 1000, 3000, 10000),
    "joint_stock": (1000, 3000, 5000, 10000, 20000, 50000),
    "foreign": (100, 200, 500, 1000, 3000, 10000),
}
# (mu, sigma) of log(employees); an 个体工商户 is a handful of people.
_STAFF_LOGNORMAL = {
    "llc": (2.0, 1.2),
    "individual": (0.7, 0.6),
    "sole": (1.2, 0.8),
    "partnership": (1.5, 1.0),
    "joint_stock": (5.0, 1.1),
    "foreign": (3.5, 1.2),
}
# USCC positions 9-17 embed the GB 11714 organisation code. Codes issued since the 2015
# reform look like MA + 6 characters; older companies kept their 8-digit code.
MA_ERA_FROM = 2016
_MA_SPACE = 31**6
_ORG_DIGIT_SPACE = 10**8
# Multipliers coprime to each space, so k -> code is a bijection: distinct k, distinct code.
_DIGIT_SCRAMBLE = 73_939_133  # prime, so coprime with 10**8
_MA_SCRAMBLE = 387_420_489  # 3**18, coprime with 31**6


def organisation_code_body(k: int, *, ma_era: bool) -> str:
    """The 8-character organisation code body for enterprise number K. Old style (digits) and
    MA style can never equal each other, and each is a bijection of K."""
    if ma_era:
        n = (k * _MA_SCRAMBLE + 17) % _MA_SPACE
        chars = []
        for _ in range(6):
            n, r = divmod(n, 31)
            chars.append(USCC_ALPHABET[r])
        return "MA" + "".join(reversed(chars))
    return f"{(k * _DIGIT_SCRAMBLE + 12_345_678) % _ORG_DIGIT_SPACE:08d}"


def credit_code(*, entity_type: str, region: str, org8: str) -> str:
    """统一社会信用代码: 9 (market regulation) + entity type + region + org code + checks."""
    first17 = f"9{entity_type}{region}{org8}{org_code_check_char(org8)}"
    return first17 + uscc_check_char(first17)


class EnterpriseMaker:
    def __init__(self, *, seed: int | str, first_k: int, pools: NamePools) -> None:
        self.rng = random.Random(seed)
        self.next_k = first_k
        self.pools = pools

    def uscc(self, *, individual: bool, region: str, founded: dt.date) -> str:
        k = self.next_k
        self.next_k += 1
        if k >= min(_MA_SPACE, _ORG_DIGIT_SPACE):
            raise RuntimeError("organisation code space exhausted")
        org8 = organisation_code_body(k, ma_era=founded.year >= MA_ERA_FROM)
        # 2 = 个体工商户, 1 = 企业 (GB 32100 登记管理机关类别 9 = 工商/市场监管)
        return credit_code(entity_type="2" if individual else "1", region=region, org8=org8)

    def make(self) -> dict:
        rng = self.rng
        rnd = rng.random
        pools = self.pools
        type_ = _ENTERPRISE_TYPES.draw(rnd)
        individual = type_ == "individual"
        industry = (_SHOP_INDUSTRIES if individual else _INDUSTRY_BY_WEIGHT).draw(rnd)
        district = _ENTERPRISE_DISTRICTS.draw(rnd)
        year = _FOUNDING_YEARS.draw(rnd)
        founded = dt.date.fromordinal(
            dt.date(year, 1, 1).toordinal() + int(rnd() * _YEAR_DAYS.get(year, 365))
        )
        brand = rng.choice(pools.brands)
        label = _DISTRICT_LABEL[district]
        if individual:
            name = f"示例{label}{brand}{industry.shop}"
        elif type_ == "joint_stock":
            name = f"示例（上海）{brand}{industry.trade}股份有限公司"
        elif type_ == "sole":
            name = f"示例上海{brand}{industry.trade}中心"
        elif type_ == "partnership":
            name = f"示例上海{brand}{industry.trade}合伙企业（有限合伙）"
        else:
            name = f"示例（上海）{brand}{industry.trade}有限公司"
        rep_male = rnd() < 0.66
        rep_year = rng.randint(1955, 2000)
        rep_birth = dt.date.fromordinal(
            dt.date(rep_year, 1, 1).toordinal() + int(rnd() * _YEAR_DAYS[rep_year])
        )
        rep_region = (
            _issuing_code(HUKOU_DISTRICTS.draw(rnd), rep_year, rnd)
            if rnd() < 0.6
            else OTHER_PROVINCE_REGIONS.draw(rnd)
        )
        # The representative's ID number only has to be valid: it is not a unique key.
        rep_seq = 2 * rng.randrange(GENERATED_SEQ_SLOTS) + (1 if rep_male else 0)
        mu, sigma = _STAFF_LOGNORMAL[type_]
        street = rng.choice(pools.streets)
        if district == "310151" and rnd() < 0.7:
            address = f"上海市崇明区城桥镇{street}{rng.randint(1, 500)}号（示例经济小区）"
        elif individual:
            address = f"上海市{label}{street}{rng.randint(1, 2000)}号底层"
        else:
            address = f"上海市{label}{street}{rng.randint(1, 2000)}号{rng.randint(1, 30)}层"
        employees = min(int(rng.lognormvariate(mu, sigma)) + 1, 50_000)
        return {
            "uscc": self.uscc(individual=individual, region=district, founded=founded),
            "name": name,
            "type": type_,
            "legal_representative": pools.person(rng, male=rep_male, birth_year=rep_year),
            "legal_representative_id_number": id_number(rep_region, rep_birth, rep_seq),
            "registered_capital": Decimal(rng.choice(_CAPITAL[type_])),
            "industry_code": industry.code,
            "district": district,
            "address": address,
            "founded_on": founded,
            "employees": employees,
            "status": _ENTERPRISE_STATUS.draw(rnd),
            **enterprise_facts(rng, industry=industry.code, individual=individual, staff=employees),
            "is_synthetic": True,
        }


# 纳税信用等级 of rated taxpayers (A is the best); half the 个体工商户 are not rated at all.
_TAX_RATINGS = _Weighted.of([("A", 20), ("B", 55), ("M", 15), ("C", 7), ("D", 3)])
# Classes where 高新技术企业 are found (software, IC, data, R&D, technology services, devices).
_HIGH_TECH_PREFIXES = ("65", "64", "73", "75", "35", "36", "27")


def enterprise_size(staff: int) -> str:
    """企业规模 by headcount alone (中小企业划型 also weighs revenue by industry; enough here)."""
    if staff < 20:
        return "micro"
    if staff < 300:
        return "small"
    return "medium" if staff < 1000 else "large"


def enterprise_facts(rng: random.Random, *, industry: str, individual: bool, staff: int) -> dict:
    """What 惠企政策 read of an enterprise: size, last year's revenue, tax credit rating,
    insured staff, last year's layoff rate, 高新技术企业."""
    rnd = rng.random
    revenue = staff * rng.lognormvariate(3.4, 0.8)  # 万元; about 30 per person, widely spread
    layoff = 0.0 if rnd() < 0.6 else min(rng.expovariate(1 / 4), 60.0)
    tech = industry.startswith(_HIGH_TECH_PREFIXES) and staff >= 10
    return {
        "size": enterprise_size(staff),
        "annual_revenue": Decimal(f"{revenue:.2f}"),
        "tax_credit_rating": "" if individual and rnd() < 0.5 else _TAX_RATINGS.draw(rnd),
        "insured_headcount": round(staff * (0.7 + 0.3 * rnd()))
        if not individual
        else int(rnd() * 3),
        "layoff_rate": Decimal(f"{layoff:.2f}"),
        "is_high_tech": tech and rnd() < 0.18,
    }


def generate_enterprises(
    *, count: int, seed: int, batch_size: int = 5000, progress: bool = True
) -> int:
    """Add COUNT synthetic enterprises; returns how many were stored.

    Enterprise number k starts at the count already stored, and maps one-to-one onto the
    organisation code, so codes from successive runs never repeat; a code a row made
    elsewhere already holds is skipped.
    """
    if count <= 0:
        return 0
    existing = Enterprise.objects.count()
    maker = EnterpriseMaker(
        seed=_mixed_seed("enterprises", seed, existing),
        first_k=existing,
        pools=NamePools.build(seed),
    )
    created = 0
    with _progress(count, "企业档案", "户", progress) as bar:
        while created < count:
            n = min(batch_size, count - created)
            rows = [maker.make() for _ in range(n)]
            _reissue_taken_codes(maker, rows)
            with transaction.atomic():
                Enterprise.objects.bulk_create(
                    [Enterprise(**row) for row in rows], batch_size=batch_size
                )
            created += n
            bar.update(n)
    return created


def _reissue_taken_codes(maker: EnterpriseMaker, rows: list[dict]) -> None:
    """Give the next enterprise number to any row whose code a row made elsewhere holds."""
    pending = rows
    while pending:
        taken = _taken(Enterprise, "uscc", [row["uscc"] for row in pending])
        pending = [row for row in pending if row["uscc"] in taken]
        for row in pending:
            old = row["uscc"]
            row["uscc"] = maker.uscc(
                individual=old[1] == "2", region=old[2:8], founded=row["founded_on"]
            )


# ----------------------------------------------------------------------------- households

# Monthly income (元) by employment: lognormal (median, sigma); students and children earn
# nothing, the unemployed nothing beyond benefits the platform does not count as income.
_INCOME = {
    "在职": (7500, 0.5),
    "灵活就业": (4500, 0.5),
    "个体经营": (6000, 0.6),
    "退休": (4200, 0.3),
}
# The first threshold of 低保 per head and the second of 低收入 (示例 figures).
MINIMUM_LIVING_LINE = 1510
LOW_INCOME_LINE = 3020


@dataclass
class _Member:
    id: int
    age: int
    male: bool
    married: bool
    widowed: bool
    local: bool
    district: str
    employment: str
    minimum_living: bool
    low_income: bool


def _age(birth: dt.date) -> int:
    ref = REFERENCE_DATE
    return ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))


def _home_of_parents(homes, by_mother_age, rng, low: int, high: int, limit: int):
    """A couple's home whose wife is LOW to HIGH years old, with room (fewer than LIMIT)."""
    for _ in range(6):
        ages = by_mother_age.get(rng.randint(low, high))
        if ages:
            home = homes[rng.choice(ages)]
            if len(home) < limit:
                return home
    return None


def form_households(people: list[_Member], rng: random.Random) -> list[list[tuple[_Member, str]]]:
    """Group people into households of plausible shape: married men and women of about the
    same age as couples, children with a couple of fitting age (or a single parent), some
    young adults with their parents and some widowed elders with a grown child's family; the
    rest live alone. Locals and non-locals are grouped apart."""
    households: list[list[tuple[_Member, str]]] = []
    for local in (True, False):
        pool = [p for p in people if p.local is local]
        men = sorted((p for p in pool if p.married and p.male and p.age >= 22), key=lambda p: p.age)
        women = sorted(
            (p for p in pool if p.married and not p.male and p.age >= 20), key=lambda p: p.age
        )
        couples = list(zip(men, women, strict=False))
        paired = {p.id for c in couples for p in c}
        homes: list[list[tuple[_Member, str]]] = []
        by_mother_age: dict[int, list[int]] = {}
        for man, woman in couples:
            head, spouse = (man, woman) if rng.random() < 0.6 else (woman, man)
            by_mother_age.setdefault(woman.age, []).append(len(homes))
            homes.append([(head, "head"), (spouse, "spouse")])
        singles = [p for p in pool if p.id not in paired and p.age >= 18]
        alone: list[_Member] = []

        for child in (p for p in pool if p.age < 18):
            home = _home_of_parents(homes, by_mother_age, rng, child.age + 22, child.age + 42, 5)
            if home is not None:
                home.append((child, "child"))
            else:
                alone.append(child)
        for adult in singles:
            u = rng.random()
            if adult.age <= 30 and not adult.married and u < 0.5:
                home = _home_of_parents(
                    homes, by_mother_age, rng, adult.age + 22, adult.age + 38, 6
                )
                if home is not None:
                    home.append((adult, "child"))
                    continue
            if adult.age >= 75 and adult.widowed and u < 0.3:
                home = _home_of_parents(
                    homes, by_mother_age, rng, adult.age - 40, adult.age - 25, 6
                )
                if home is not None:
                    home.append((adult, "parent"))
                    continue
            alone.append(adult)
        # Children no couple fits live with a single adult of parent age where there is one.
        parents = [p for p in alone if 22 <= p.age <= 60]
        rng.shuffle(parents)
        kept: dict[int, list[tuple[_Member, str]]] = {}
        for person in alone:
            if person.age < 18 and parents:
                parent = parents[person.id % len(parents)]
                kept.setdefault(parent.id, [(parent, "head")]).append((person, "child"))
            elif person.id not in kept:
                kept.setdefault(person.id, [(person, "head")])
        homes += kept.values()
        households += homes
    return households


def _income(member: _Member, rng: random.Random) -> int:
    band = _INCOME.get(member.employment)
    if band is None:
        return 0
    median, sigma = band
    return round(rng.lognormvariate(math.log(median), sigma), -1)


def _settle_incomes(home: list[tuple[_Member, str]], rng: random.Random) -> dict[int, tuple]:
    """(monthly income, 低保, 低收入) per member. Assistance is a household's: the head's tier
    is everyone's, and its income stays under that tier's line per head."""
    head = home[0][0]
    incomes = {m.id: _income(m, rng) for m, _ in home}
    if head.minimum_living or head.low_income:
        low, high = (
            (200, MINIMUM_LIVING_LINE)
            if head.minimum_living
            else (
                MINIMUM_LIVING_LINE + 1,
                LOW_INCOME_LINE,
            )
        )
        total = rng.randint(low, high - 1) * len(home)
        earners = [m.id for m, _ in home if incomes[m.id] > 0] or [head.id]
        share = total // len(earners)
        incomes = {m.id: (share if m.id in earners else 0) for m, _ in home}
    return {
        m.id: (
            Decimal(incomes[m.id]),
            head.minimum_living,
            head.low_income and not head.minimum_living,
        )
        for m, _ in home
    }


def generate_households(*, seed: int, batch_size: int = 20_000, progress: bool = True) -> int:
    """Group the synthetic residents who have no household yet into households (户), batch by
    batch, and give everyone a monthly income consistent with their household's assistance
    tier. Returns how many households were made. A rerun finds nobody left and does nothing."""
    from tongban.accounts.models import Household

    waiting = ResidentProfile.objects.filter(is_synthetic=True, household__isnull=True)
    total = waiting.count()
    if not total:
        return 0
    rng = random.Random(_mixed_seed("households", seed, Household.objects.count()))
    made = 0
    fields = (
        "id", "birth_date", "sex", "marital_status", "hukou_is_local", "hukou_district",
        "residence_district", "employment_status", "is_minimum_living_allowance", "is_low_income",
    )  # fmt: skip
    with _progress(total, "家庭户", "人", progress) as bar:
        while True:
            rows = list(waiting.order_by("id").values_list(*fields)[:batch_size])
            if not rows:
                break
            people = [
                _Member(
                    id=r[0],
                    age=_age(r[1]),
                    male=r[2] == "M",
                    married=r[3] == "married",
                    widowed=r[3] == "widowed",
                    local=r[4],
                    district=r[5] or r[6],
                    employment=r[7],
                    minimum_living=r[8],
                    low_income=r[9],
                )
                for r in rows
            ]
            homes = form_households(people, rng)
            first = (
                Household.objects.order_by("-id").values_list("id", flat=True).first() or 0
            ) + 1
            with transaction.atomic():
                households = Household.objects.bulk_create(
                    [
                        Household(
                            number=f"{home[0][0].district or '310000'}{first + i:08d}",
                            district=home[0][0].district if home[0][0].local else "",
                            is_synthetic=True,
                        )
                        for i, home in enumerate(homes)
                    ]
                )
                updates = []
                for household, home in zip(households, homes, strict=True):
                    settled = _settle_incomes(home, rng)
                    for member, relation in home:
                        income, minimum, low = settled[member.id]
                        updates.append(
                            ResidentProfile(
                                id=member.id,
                                household_id=household.pk,
                                household_relation=relation,
                                monthly_income=income,
                                is_minimum_living_allowance=minimum,
                                is_low_income=low,
                            )
                        )
                ResidentProfile.objects.bulk_update(
                    updates,
                    [
                        "household",
                        "household_relation",
                        "monthly_income",
                        "is_minimum_living_allowance",
                        "is_low_income",
                    ],
                    batch_size=2000,
                )
            made += len(homes)
            bar.update(len(rows))
    return made
