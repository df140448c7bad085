"""Catalog errors: stable codes, Chinese messages."""

from __future__ import annotations

from typing import Any

from tongban.common.errors import InvalidInput, NotFound


class ItemNotFound(NotFound):
    code = "ITEM_NOT_FOUND"
    message = "未找到该事项"


class BundleNotFound(NotFound):
    code = "BUNDLE_NOT_FOUND"
    message = "未找到该一件事"


class CatalogInvalid(InvalidInput):
    """The definition folder cannot be loaded; `details` lists every problem found, each with
    file, line, field and message, and nothing was written."""

    code = "CATALOG_INVALID"
    message = "事项库定义有误，未做任何更改"

    def __init__(self, problems: list[Any]):
        self.problems = problems
        super().__init__(
            f"事项库定义有误（共 {len(problems)} 处），未做任何更改",
            details=[p.as_dict() for p in problems],
        )


class GuideAnswersInvalid(InvalidInput):
    """Answers to the guided questions are missing or invalid. `questions` carries every
    question with its error so a page can show the form again without recomputing."""

    code = "GUIDE_ANSWERS_INVALID"
    message = "请回答全部问题后再查看材料清单"

    def __init__(self, *, details: list[dict[str, Any]], questions: list[Any]):
        self.questions = questions
        super().__init__(details=details)
