"""An offline gazetteer for the hall finder: where a district or a street of the city is,
without calling a map service (addresses typed by residents never leave the server).

Coordinates are approximate public ones (WGS-84, to about a hundred metres): the seats of
Shanghai's 16 district governments, and the 街镇 and main roads the demo city's halls and
service points stand on. A typed address is placed by the most precise name found in it: a
street first, then a district; anything else is not placed and the caller says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tongban.accounts.models import District

# A walk in town is longer than the straight line: streets, crossings, blocks.
WALK_DETOUR = 1.25
WALK_METRES_PER_MINUTE = 80  # 4.8 km/h, an unhurried pace
# 15分钟服务圈: what one reaches on foot in a quarter of an hour.
CIRCLE_WALK_KM = 1.2

DISTRICT_CENTRES: dict[str, tuple[float, float]] = {
    District.HUANGPU: (31.231700, 121.484500),
    District.XUHUI: (31.188500, 121.436500),
    District.CHANGNING: (31.220400, 121.424400),
    District.JINGAN: (31.249000, 121.456000),
    District.PUTUO: (31.249500, 121.397300),
    District.HONGKOU: (31.264600, 121.505000),
    District.YANGPU: (31.259600, 121.526000),
    District.MINHANG: (31.112800, 121.381600),
    District.BAOSHAN: (31.405300, 121.489500),
    District.JIADING: (31.374700, 121.265500),
    District.PUDONG: (31.221500, 121.544700),
    District.JINSHAN: (30.741900, 121.342100),
    District.SONGJIANG: (31.032300, 121.227800),
    District.QINGPU: (31.151000, 121.124200),
    District.FENGXIAN: (30.918100, 121.474200),
    District.CHONGMING: (31.623000, 121.397300),
}

# Short names people type ("浦东", "徐汇") as well as the full ones.
_DISTRICT_ALIASES: dict[str, str] = {
    **{label: code for code, label in District.choices},
    **{label.removesuffix("新区").removesuffix("区"): code for code, label in District.choices},
}


@dataclass(frozen=True)
class _Street:
    name: str
    district: str
    latitude: float
    longitude: float
    aliases: tuple[str, ...] = ()


STREETS: tuple[_Street, ...] = (
    # 黄浦区
    _Street("外滩街道", District.HUANGPU, 31.239500, 121.485500, ("外滩",)),
    _Street("南京东路街道", District.HUANGPU, 31.237500, 121.478000, ("南京东路",)),
    _Street("豫园街道", District.HUANGPU, 31.227000, 121.492000, ("豫园",)),
    _Street("人民广场", District.HUANGPU, 31.230400, 121.473700, ("人民大道",)),
    _Street("淮海中路街道", District.HUANGPU, 31.219000, 121.470000, ("淮海中路",)),
    # 浦东新区
    _Street("陆家嘴街道", District.PUDONG, 31.236000, 121.507500, ("陆家嘴",)),
    _Street("世纪大道", District.PUDONG, 31.229000, 121.529000),
    _Street("潍坊新村街道", District.PUDONG, 31.227000, 121.525000, ("潍坊新村",)),
    _Street("花木街道", District.PUDONG, 31.212000, 121.551000, ("花木",)),
    _Street("张江镇", District.PUDONG, 31.203000, 121.590000, ("张江",)),
    # 徐汇区
    _Street("徐家汇街道", District.XUHUI, 31.195000, 121.437000, ("徐家汇",)),
    _Street("天平路街道", District.XUHUI, 31.205000, 121.441000, ("天平路",)),
    _Street("田林街道", District.XUHUI, 31.172000, 121.430500, ("田林路", "田林")),
    _Street("漕河泾街道", District.XUHUI, 31.168000, 121.412000, ("漕河泾",)),
)


@dataclass(frozen=True)
class Place:
    """Where a search is centred: `precision` "street" or "district"."""

    label: str
    district: str
    latitude: float
    longitude: float
    precision: str


def district_place(district: str) -> Place | None:
    centre = DISTRICT_CENTRES.get(district)
    if centre is None:
        return None
    return Place(District(district).label, district, centre[0], centre[1], "district")


def place_locate(text: str) -> Place | None:
    """The place named in an address TEXT: the longest street name found in it (a street's
    own district wins over a district named elsewhere in the text), else a district named in
    it; None when neither is found."""
    text = "".join((text or "").split())
    if not text:
        return None
    best: tuple[int, _Street] | None = None
    for street in STREETS:
        for name in (street.name, *street.aliases):
            if name in text and (best is None or len(name) > best[0]):
                best = (len(name), street)
    if best is not None:
        s = best[1]
        return Place(s.name, s.district, s.latitude, s.longitude, "street")
    found = [(len(alias), code) for alias, code in _DISTRICT_ALIASES.items() if alias in text]
    if found:
        return district_place(max(found)[1])
    return None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine; the city is small enough)."""
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def walk_km(straight_km: float) -> float:
    return straight_km * WALK_DETOUR


def walk_minutes(straight_km: float) -> int:
    return max(1, round(walk_km(straight_km) * 1000 / WALK_METRES_PER_MINUTE))
