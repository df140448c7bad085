"""/api/v1/catalog/: service items, 一件事 bundles, search and the guided 一次告知.

Thin: parse, call a selector or the guide, return its dataclass. Nothing here changes state,
so the routes need no authentication and no CSRF token; a logged-in resident's profile is
used, when present, to say which materials they are spared.
"""

from __future__ import annotations

from typing import Literal

from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from tongban.accounts.selectors import resident_profile_of
from tongban.catalog import guide, selectors
from tongban.catalog.schemas import BundleDef, ServiceItemDef
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Version

router = Router(tags=["catalog"], auth=None)


class ItemDetailOut(ServiceItemDef):
    """The full 办事指南: every field of the definition, plus where it stands."""

    model_config = ConfigDict(extra="ignore", frozen=False)
    department_name: str
    version: int
    latest_version: int
    is_active: bool


class BundleDetailOut(BundleDef):
    model_config = ConfigDict(extra="ignore", frozen=False)
    lead_department_name: str
    version: int
    item_names: dict[str, str]


class GuideIn(Schema):
    answers: dict[str, str | bool] = Field(
        default_factory=dict,
        description='情形编码 → 选项值，例如 {"born_in_city": "yes"}',
        examples=[{"born_in_city": "yes", "want_sscard": "no"}],
    )


def _answers(body: GuideIn) -> dict[str, str]:
    # A JSON client may send true/false for a yes/no question; the option values are words.
    return {
        k: ("yes" if v else "no") if isinstance(v, bool) else v for k, v in body.answers.items()
    }


def _applicant(request):
    user = getattr(request, "user", None)
    return resident_profile_of(user) if user is not None and user.is_authenticated else None


@router.get(
    "/items",
    response={200: list[selectors.ItemSummary], **errors(400, 422)},
    summary="事项列表与搜索",
)
def items_list(
    request,
    q: str | None = None,
    department: str | None = None,
    subject: Literal["person", "enterprise"] | None = None,
):
    prefer = None if subject else selectors.search_subject_for(getattr(request, "user", None))
    return selectors.item_list(q=q, department=department, subject=subject, prefer=prefer)


@router.get(
    "/items/{code}", response={200: ItemDetailOut, **errors(400, 404, 422)}, summary="办事指南"
)
def item_detail(request, code: str, version: Version | None = None):
    detail = selectors.item_detail(code, version)
    return {
        **detail.definition.model_dump(mode="json"),
        "department_name": detail.department_name,
        "version": detail.version,
        "latest_version": detail.latest_version,
        "is_active": detail.is_active,
    }


@router.get(
    "/items/{code}/versions",
    response={200: list[selectors.VersionInfo], **errors(400, 404)},
    summary="事项的历史版本",
)
def item_versions(request, code: str):
    return selectors.item_versions(code)


@router.post(
    "/items/{code}/guide",
    response={200: guide.GuideResult, **errors(400, 404, 422)},
    summary="单个事项的一次告知",
)
def item_guide(request, code: str, body: GuideIn):
    return guide.guide_for_item(code=code, answers=_answers(body), applicant=_applicant(request))


@router.get("/bundles", response=list[selectors.BundleSummary], summary="一件事列表")
def bundles_list(request):
    return selectors.bundle_list()


@router.get(
    "/bundles/{code}", response={200: BundleDetailOut, **errors(400, 404)}, summary="一件事"
)
def bundle_detail(request, code: str):
    detail = selectors.bundle_detail(code)
    return {
        **detail.definition.model_dump(mode="json"),
        "lead_department_name": detail.lead_department_name,
        "version": detail.version,
        "item_names": detail.item_names,
    }


@router.post(
    "/bundles/{code}/guide",
    response={200: guide.GuideResult, **errors(400, 404, 422)},
    summary="一件事的一次告知：按回答给出确切的事项、材料和表单",
)
def bundle_guide(request, code: str, body: GuideIn):
    return guide.guide_for_bundle(code=code, answers=_answers(body), applicant=_applicant(request))


@router.get(
    "/search",
    response={200: list[selectors.SearchResult], **errors(400, 422)},
    summary="搜索事项和一件事",
)
def search(request, q: str = "", limit: int = Query(20, ge=1, le=100)):
    """Results above the relevance floor only; a resident's own services first."""
    prefer = selectors.search_subject_for(getattr(request, "user", None))
    return selectors.catalog_search(q=q, limit=limit, prefer=prefer)


@router.get(
    "/search/answer",
    response={200: selectors.SearchOutcome, **errors(400, 422)},
    summary="搜索并说明结果：没有结果时给出相近的服务、所属一件事和 12345 热线",
)
def search_answer(request, q: str = "", limit: int = Query(20, ge=1, le=100)):
    prefer = selectors.search_subject_for(getattr(request, "user", None))
    return selectors.catalog_search_outcome(q=q, limit=limit, prefer=prefer)
