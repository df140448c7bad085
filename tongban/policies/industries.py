"""行业门类 of GB/T 4754-2017 (国民经济行业分类): the sections a four-digit class belongs to,
by its two-digit division, so that 政策查询 can list 惠企政策 by industry in words."""

from __future__ import annotations

# (section letter, name, first division, last division)
SECTIONS: tuple[tuple[str, str, int, int], ...] = (
    ("A", "农、林、牧、渔业", 1, 5),
    ("B", "采矿业", 6, 12),
    ("C", "制造业", 13, 43),
    ("D", "电力、热力、燃气及水生产和供应业", 44, 46),
    ("E", "建筑业", 47, 50),
    ("F", "批发和零售业", 51, 52),
    ("G", "交通运输、仓储和邮政业", 53, 60),
    ("H", "住宿和餐饮业", 61, 62),
    ("I", "信息传输、软件和信息技术服务业", 63, 65),
    ("J", "金融业", 66, 69),
    ("K", "房地产业", 70, 70),
    ("L", "租赁和商务服务业", 71, 72),
    ("M", "科学研究和技术服务业", 73, 75),
    ("N", "水利、环境和公共设施管理业", 76, 79),
    ("O", "居民服务、修理和其他服务业", 80, 82),
    ("P", "教育", 83, 83),
    ("Q", "卫生和社会工作", 84, 85),
    ("R", "文化、体育和娱乐业", 86, 90),
    ("S", "公共管理、社会保障和社会组织", 91, 96),
    ("T", "国际组织", 97, 97),
)
SECTION_NAMES = {letter: name for letter, name, _, _ in SECTIONS}


def section_of(code: str) -> str:
    """The section letter of an industry class code ("6513" → "I"); "" if not a code."""
    if len(code) < 2 or not code[:2].isdigit():
        return ""
    division = int(code[:2])
    for letter, _, first, last in SECTIONS:
        if first <= division <= last:
            return letter
    return ""
