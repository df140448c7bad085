"""The steps of 一表申请 come from the data elements (their prefix: whom they are about), never
from a list per service; answers read back in words."""

from __future__ import annotations

from types import SimpleNamespace

from tongban.cases import steps
from tongban.catalog.guide import GuideChoice


def field(code: str, type_: str = "text", choices=()) -> SimpleNamespace:
    return SimpleNamespace(code=code, label=code, type=type_, choices=list(choices))


def test_fields_group_by_whom_they_are_about_people_first_then_materials_and_delivery():
    fields = [
        field("child.name"),
        field("mother.name"),
        field("payment.bank_name"),
        field("applicant.phone"),
        field("father.name"),
        field("marriage.certificate_no"),
        field("mother.id_number"),
        field("delivery.address"),
        field("strange.thing"),
    ]
    found = steps.steps_for(fields)
    assert [(s.slug, s.title) for s in found] == [
        ("applicant", "申请人信息"),
        ("child", "关于子女"),
        ("parents", "关于父母"),
        ("payment", "待遇发放账户"),
        ("other", "其他信息"),
        ("materials", "申请材料"),
        ("delivery", "送达方式"),
    ]
    parents = found[2]
    assert [(h, [f.code for f in fs]) for h, fs in parents.sections()] == [
        ("母亲", ["mother.name", "mother.id_number"]),
        ("父亲", ["father.name"]),
        ("父母婚姻登记", ["marriage.certificate_no"]),
    ]
    assert [f.code for f in found[-1].fields] == ["delivery.address"]
    assert found[1].sections() == [("", found[1].fields)]
    # A service without materials has no materials step.
    assert [s.slug for s in steps.steps_for([field("child.name")], has_materials=False)] == [
        "child",
        "delivery",
    ]


def test_answers_read_back_in_words():
    sex = field("child.sex", "choice", [GuideChoice("F", "女"), GuideChoice("M", "男")])
    assert steps.display_value(sex, "F") == "女"
    assert steps.display_value(field("x.on", "boolean"), True) == "是"
    assert steps.display_value(field("x.on", "boolean"), "false") == "否"
    assert steps.display_value(field("x.day", "date"), "2026-03-09") == "2026年3月9日"
    assert steps.display_value(field("x.district", "district"), "310104") == "徐汇区"
    assert steps.display_value(field("x.name"), "  ") == "未填写"
    assert steps.delivery_label("post") == "邮寄送达"
    assert steps.size_text(1500) == "1 KB" and steps.size_text(3 * 1024 * 1024) == "3.0 MB"
