"""长者版首页: the few services an older person uses first, in the order they are asked for.

Catalog entries name a bundle or an item by code and take their name from the catalog, so the
list never links to a service that is not published (an entry whose code is missing is left
out). Personal pages (随申码, 我的办件) and the 12345 hotline complete the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from tongban.catalog import selectors


@dataclass(frozen=True)
class ElderEntry:
    name: str
    hint: str
    href: str


# (kind, code or address, name for links, hint): kind "bundle"/"item" is looked up in the
# catalog; "page" is one of the person's own pages; "tel" a telephone number.
ELDER_HOME = (
    ("bundle", "elderly_care", "", "优待卡、津贴、护理评估、养老补贴，一次申请"),
    ("item", "SH-MZJ-0303", "", "敬老卡：乘车、游园、看展享受优待"),
    ("item", "SH-MZJ-0302", "", "年满65周岁的本市户籍老人按月领取"),
    ("item", "SH-YBZX-0101", "", "医保参保，看病报销"),
    ("item", "SH-RSJ-0101", "", "办卡、补卡，看病、领养老金都要用"),
    ("bundle", "disability_services", "", "残疾人证、补贴、辅具、康复，一次申请"),
    ("page", "/me/idcode/", "随申码", "出示随申码，看病、办事核验身份"),
    ("page", "/me/cases/", "我的办件", "查看申请办到哪一步了"),
    ("tel", "12345", "拨打 12345 热线", "不会办、有疑问，请电话咨询"),
)


def elder_home_entries() -> list[ElderEntry]:
    bundles = {b.code: b.name for b in selectors.bundle_list()}
    items = {i.code: i.name for i in selectors.item_list()}
    entries = []
    for kind, target, name, hint in ELDER_HOME:
        if kind == "bundle":
            if target not in bundles:
                continue
            entries.append(ElderEntry(bundles[target], hint, f"/bundles/{target}/"))
        elif kind == "item":
            if target not in items:
                continue
            entries.append(ElderEntry(items[target], hint, f"/items/{target}/"))
        elif kind == "page":
            entries.append(ElderEntry(name, hint, target))
        else:
            entries.append(ElderEntry(name, hint, f"tel:{target}"))
    return entries
