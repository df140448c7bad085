"""A real 出生一件事 on the demo catalog for a resident, submitted through the case service."""

from __future__ import annotations

from tongban.cases import services
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import bundle_questions, guide_for_bundle


def birth_case(resident, *, key: str):
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers["born_in_city"] = "yes"
    answers["maternity_insured"] = "yes"
    guide = guide_for_bundle(code="birth", answers=answers, applicant=resident)
    return services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=guide.answers,
        form_data=sample_form(guide),
        materials=sample_uploads(guide),
        idempotency_key=key,
    )
