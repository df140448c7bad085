"""The merged form (一表申请) and the 补正 form as HTML: what to draw for each data element and
material, and how a POST turns back into the shapes the services take. No rule lives here: the
services validate; these only translate between the page and `case_submit`/`case_supplement`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from tongban.accounts.models import District
from tongban.cases.models import Delivery, MaterialHow
from tongban.cases.services import MAX_UPLOAD_BYTES, MaterialInput, Upload

ACCEPT = ".pdf,.jpg,.jpeg,.png"
FIELD_PREFIX = "field."
HOW_PREFIX = "how."
FILE_PREFIX = "file."
ANSWER_PREFIX = "answer."

# Data element type → how the browser should ask for it.
INPUT_TYPES = {
    "date": "date",
    "phone": "tel",
    "email": "email",
}
INPUT_MODES = {"integer": "numeric", "decimal": "decimal", "id_number": "text"}
AUTOCOMPLETE = {
    "applicant.name": "name",
    "applicant.phone": "tel",
    "applicant.mail_address": "street-address",
}
BOOLEAN_CHOICES = [("true", "是"), ("false", "否")]
# What a person copies a value from when a body other than them holds it.
SUPPLIED_FROM = {"助产机构": "出院记录"}


def dom_id(prefix: str, code: str) -> str:
    """A fragment-safe id: element codes carry dots, which CSS selectors would misread."""
    return f"{prefix}-{code.replace('.', '-')}"


@dataclass
class FieldSpec:
    code: str
    label: str
    type: str
    required: bool
    help: str
    value: str
    prefilled: str  # where a prefilled value came from (您的档案 …); empty when typed
    errors: list[str] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)
    supplied_by: str = ""  # the body that holds the true value (助产机构)
    # 预约时段: the slots with places left, grouped by hall and day ([(group, [(id, time)])]).
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)

    @property
    def supplied_note(self) -> str:
        """Hospital data, marked as such: who holds it and what to copy it from."""
        if not self.supplied_by:
            return ""
        source = SUPPLIED_FROM.get(self.supplied_by, f"{self.supplied_by}出具的材料")
        return f"由{self.supplied_by}提供：请按{source}填写"

    @property
    def id(self) -> str:
        return dom_id("field", self.code)

    @property
    def name(self) -> str:
        return FIELD_PREFIX + self.code

    @property
    def widget(self) -> str:
        if self.choices or self.type == "slot":
            return "select"
        return "input"

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.type, "text")

    @property
    def inputmode(self) -> str:
        return INPUT_MODES.get(self.type, "")

    @property
    def autocomplete(self) -> str:
        return AUTOCOMPLETE.get(self.code, "off")


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_specs(
    fields: list[Any],
    *,
    values: dict[str, Any],
    prefill: dict[str, Any],
    errors: dict[str, list[str]],
) -> list[FieldSpec]:
    """FIELDS are GuideField-like (code, label, type, required, choices, help)."""
    specs = []
    for f in fields:
        if f.type == "choice":
            choices = [(c.value, c.label) for c in f.choices]
        elif f.type == "district":
            choices = list(District.choices)
        elif f.type == "boolean":
            choices = list(BOOLEAN_CHOICES)
        else:
            choices = []
        groups = []
        if f.type == "slot":
            from tongban.appointments.selectors.booking import slot_choices

            groups = slot_choices(item_codes=list(getattr(f, "items", []) or []))
        value = _as_text(values.get(f.code, ""))
        specs.append(
            FieldSpec(
                code=f.code,
                label=f.label,
                type=f.type,
                required=f.required,
                help=f.help,
                value=value,
                prefilled=(
                    getattr(prefill, "sources", {}).get(f.code, "您的档案")
                    if f.code in prefill and value == _as_text(prefill[f.code]) and value
                    else ""
                ),
                errors=errors.get(f.code, []),
                choices=choices,
                supplied_by=getattr(f, "supplied_by", "") or "",
                groups=groups,
            )
        )
    return specs


def form_data_from_post(post: QueryDict, fields: list[Any]) -> dict[str, Any]:
    """The typed values, one per asked element; blanks are left out (the service says which
    were required). Booleans become booleans; everything else stays text for the service to
    normalise."""
    data: dict[str, Any] = {}
    for f in fields:
        raw = post.get(FIELD_PREFIX + f.code, "")
        if not raw.strip():
            continue
        if f.type == "boolean":
            data[f.code] = {"true": True, "false": False}.get(raw, raw)
        else:
            data[f.code] = raw
    return data


def form_data_from_values(values: dict[str, Any], fields: list[Any]) -> dict[str, Any]:
    """The same as `form_data_from_post`, from values kept as typed (a draft)."""
    post = QueryDict(mutable=True)
    for f in fields:
        post[FIELD_PREFIX + f.code] = _as_text(values.get(f.code, ""))
    return form_data_from_post(post, fields)


def typed_values_from_post(post: QueryDict, fields: list[Any]) -> dict[str, str]:
    """What was typed, as typed, to show again after an error or keep in a draft."""
    return {f.code: post.get(FIELD_PREFIX + f.code, "") for f in fields}


def answers_from_post(post: QueryDict) -> dict[str, str]:
    return {
        k[len(ANSWER_PREFIX) :]: v for k, v in post.items() if k.startswith(ANSWER_PREFIX) and v
    }


@dataclass
class UploadsTooLarge(Exception):
    details: list[dict[str, str]]


def uploads_from_files(files: MultiValueDict, code: str) -> list[Upload]:
    """The files chosen for material CODE. A file over the limit is refused before it is read
    into memory (the service refuses it too, with the same words)."""
    out = []
    too_large = []
    for f in files.getlist(FILE_PREFIX + code):
        if f.size > MAX_UPLOAD_BYTES:
            too_large.append(
                {"field": code, "message": f"文件“{f.name[:60]}”超过10MB，请压缩后上传"}
            )
            continue
        out.append(Upload(name=f.name or "", content=f.read()))
    if too_large:
        raise UploadsTooLarge(details=too_large)
    return out


def materials_from_post(
    post: QueryDict, files: MultiValueDict, materials: list[dict[str, Any]]
) -> dict[str, MaterialInput]:
    """MATERIALS are the page's material rows (code, offers). A chosen way (commitment,
    deferred) wins; otherwise files given mean an upload; nothing given leaves it out so the
    service can say it is missing."""
    out: dict[str, MaterialInput] = {}
    too_large: list[dict[str, str]] = []
    for m in materials:
        if m["spared"]:
            continue
        code = m["code"]
        how = post.get(HOW_PREFIX + code, "")
        try:
            uploads = uploads_from_files(files, code)
        except UploadsTooLarge as exc:
            too_large += exc.details
            continue
        if how in (MaterialHow.COMMITMENT, MaterialHow.DEFERRED):
            out[code] = MaterialInput(how=how)
        elif uploads:
            out[code] = MaterialInput(how=MaterialHow.UPLOAD, files=tuple(uploads))
        # "Upload" chosen with no file is nothing given: an optional material may be left out,
        # a required one the service names as missing.
    if too_large:
        raise UploadsTooLarge(details=too_large)
    return out


DELIVERY_CHOICES = list(Delivery.choices)


def errors_by_field(details: list[dict[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in details:
        out.setdefault(d.get("field", ""), []).append(d.get("message", ""))
    return out
