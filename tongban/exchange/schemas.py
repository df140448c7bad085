"""The shape of a data source definition (数据源目录, YAML), validated by pydantic.

A data source is a department system the platform may ask about a person, an enterprise or a
property (数据共享核验): which department holds it, which data elements it answers, keyed by
what, how sensitive it is, under which legal bases and for which service items (场景授权) it
may be asked, and how it is reached. Which 申请材料 its answer proves is said here too
(`proves`), so the 153 `data_source` waivers of the item definitions need no change: a
waiver names the source by its Chinese name (`Waiver.data_source`), the source says what
it needs to answer to spare that material.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tongban.catalog.schemas import Code, Strict

# What a source is keyed by: the person's 公民身份号码, the enterprise's 统一社会信用代码, or
# a property's 不动产单元号.
SubjectKey = Literal["id_number", "uscc", "property_unit"]

SourceElementType = Literal["text", "integer", "decimal", "date", "boolean", "choice"]

ElementCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class SourceElement(Strict):
    """One data element a source answers (数据项). `sensitivity` 1 公开 … 4 高度敏感."""

    code: ElementCode
    label: str = Field(min_length=1, max_length=40)
    type: SourceElementType
    choices: list[str] = Field(default_factory=list)
    sensitivity: int = Field(ge=1, le=4)

    @model_validator(mode="after")
    def _choices_for_choice(self) -> SourceElement:
        if (self.type == "choice") != bool(self.choices):
            raise ValueError("只有 type 为 choice 的数据项给出 choices，且必须给出")
        return self


class Proof(Strict):
    """A material this source can stand in for: when it answers every element of `elements`
    (present, and true for a boolean) for the person or body the material is about, the
    material is spared (核验通过)."""

    material: Code
    elements: list[ElementCode] = Field(min_length=1)


class HttpTransport(Strict):
    """Reached over HTTP/JSON: POST {base URL of `endpoint`}{path}. The base URL comes from the
    setting TONGBAN_EXCHANGE_ENDPOINTS[endpoint] (the demo city's department systems all
    answer at one base URL). The request is signed with the secret in the environment
    variable `secret_env` (a demo secret derived from SECRET_KEY when unset)."""

    kind: Literal["http"]
    endpoint: Code = "demo"
    path: Annotated[str, Field(pattern=r"^/[a-z0-9/_\-]+$", max_length=120)]
    secret_env: Annotated[str, Field(pattern=r"^([A-Z][A-Z0-9_]*)?$")] = ""
    timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    retries: int = Field(default=2, ge=0, le=5)


class InProcessTransport(Strict):
    """Answered inside the platform by a Python callable (dotted path), for a source whose
    records the platform itself keeps."""

    kind: Literal["inprocess"]
    callable: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_.]*:[a-z_][a-z0-9_]*$")]


class DataSourceDef(Strict):
    """数据源 — one department system, as registered in the 数据共享目录."""

    code: Code
    name: str = Field(min_length=2, max_length=40)  # as item waivers name it: 公安人口库
    department: Code  # the department that holds it (departments.yaml)
    key: SubjectKey
    sensitivity: int = Field(ge=1, le=4)
    description: str = ""
    elements: list[SourceElement] = Field(min_length=1)
    proves: list[Proof] = Field(default_factory=list)
    # 法律依据: what allows the platform to ask at all; every request carries one of them.
    legal_bases: list[str] = Field(min_length=1)
    # 场景授权: the service items whose cases may ask (["*"]: every item of the catalog).
    items: list[Annotated[str, Field(pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.\-]*)$")]] = Field(
        min_length=1
    )
    # 授权查询: the elements a holder may let a registered institution read with their consent
    # (信易贷: 纳税信用等级, 参保人数 …). Empty: nobody outside government reads this source.
    consentable: list[ElementCode] = Field(default_factory=list)
    transport: HttpTransport | InProcessTransport = Field(discriminator="kind")

    @model_validator(mode="after")
    def _consistent(self) -> DataSourceDef:
        codes = [e.code for e in self.elements]
        if len(codes) != len(set(codes)):
            raise ValueError("数据项编码重复")
        for proof in self.proves:
            unknown = [c for c in proof.elements if c not in codes]
            if unknown:
                raise ValueError(
                    f"材料 {proof.material} 引用了未定义的数据项：{'、'.join(unknown)}"
                )
        unknown = [c for c in self.consentable if c not in codes]
        if unknown:
            raise ValueError(f"consentable 引用了未定义的数据项：{'、'.join(unknown)}")
        if "*" in self.items and len(self.items) > 1:
            raise ValueError("items 为 * 时不能再列出事项")
        return self

    def element(self, code: str) -> SourceElement | None:
        return next((e for e in self.elements if e.code == code), None)

    def allows_item(self, item_code: str) -> bool:
        return "*" in self.items or item_code in self.items
