"""Stage 4, hand-out (统一窗口出件): the counter hands a concluded case out, and the
certificates app records what was issued (统一发证) on the case."""

from __future__ import annotations

from django.db import transaction

from tongban.accounts.models import User
from tongban.cases.errors import CaseAlreadyHandedOut, CaseNotAwaitingHandout, NotAnIssuer
from tongban.cases.models import Application, CaseEvent, CaseStatus, Delivery
from tongban.cases.receipt import receipt_display
from tongban.cases.selectors import hand_out_may_handle
from tongban.cases.services._common import _event, _hooks_after_commit, _lock_case, _now
from tongban.common.errors import InvalidInput
from tongban.notifications.services import notice_send

# ---------------------------------------------------------------- 统一窗口出件

HANDOUT_NOTE_MAX = 200


def case_hand_out(*, actor: User, receipt_no: str, note: str = "") -> Application:
    """统一窗口出件: hand out a concluded case's results (counter pick-up or post) and
    archive it.

    Who may (selectors.hand_out_may_handle): for a case filed at a hall, an issuer (出件) or
    counter clerk sitting in that hall; for a case filed online with counter pick-up or post
    chosen, an issuer of any hall. Anyone else is refused (NOT_AN_ISSUER) and nothing
    changes. NOTE says who collected it, or, for post, the tracking number (required).
    A case not concluded, delivered online, or already handed out is a conflict."""
    text = (note or "").strip()
    if len(text) > HANDOUT_NOTE_MAX:
        raise InvalidInput(f"出件说明不得超过{HANDOUT_NOTE_MAX}字", code="HANDOUT_NOTE_TOO_LONG")
    with transaction.atomic():
        case = _lock_case(receipt_no)
        if actor is None or not actor.is_authenticated or not hand_out_may_handle(actor, case):
            raise NotAnIssuer()
        if case.handed_out_at is not None:
            raise CaseAlreadyHandedOut()
        if case.status != CaseStatus.CONCLUDED or case.delivery == Delivery.ONLINE:
            raise CaseNotAwaitingHandout()
        if case.delivery == Delivery.POST and not text:
            raise InvalidInput(
                "邮寄送达须填写快递单号",
                code="HANDOUT_NOTE_REQUIRED",
                details=[{"field": "note", "message": "请填写快递单号"}],
            )
        case.handed_out_at = _now()
        case.handed_out_by = actor
        case.handout_note = text
        case.save(update_fields=["handed_out_at", "handed_out_by", "handout_note", "updated_at"])
        _event(
            case,
            actor=actor,
            action="handed_out",
            reason=text,
            data={"delivery": case.delivery, "hall": case.hall.code if case.hall_id else None},
        )
        # The archive event sends the applicant's notice (已领取 / 已寄出, with the note).
        told = f"快递单号：{text}" if case.delivery == Delivery.POST else text
        _event(case, actor=actor, action="archived", to_status=CaseStatus.ARCHIVED, reason=told)
        _hooks_after_commit(case, "handout")
    return case


# ---------------------------------------------------------------- 统一发证 (recorded)


def case_note_issued(
    *, receipt_no: str, certificates: list[dict], skipped: list[dict] | None = None
) -> CaseEvent:
    """Record on the case which certificates issuance produced (serials and type codes, never
    claims) and which it could not issue and why; tell the applicant what they received."""
    with transaction.atomic():
        case = _lock_case(receipt_no)
        issued = [
            {"serial": c["serial"], "type": c["type"], "name": c.get("name", "")}
            for c in certificates
        ]
        not_issued = [
            {"type": s["type"], "name": s.get("name", ""), "reason": s.get("reason", "")}
            for s in skipped or []
        ]
        event = _event(
            case,
            actor=None,
            actor_label="system:issuance",
            action="certificates_issued",
            data={"certificates": issued, "skipped": not_issued},
        )
        if issued:
            names = "、".join(dict.fromkeys(c["name"] or c["type"] for c in issued))
            notice_send(
                recipient=case.applicant,
                template="certificate_issued",
                context={"names": names, "receipt": receipt_display(case.receipt_no)},
                link="/me/certificates/",
                category="certificate",
            )
    return event
