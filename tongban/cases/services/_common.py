"""What every stage of the case engine shares: limits, the hook registries (统一发证, 出件 and
好差评 hooks), the upload types and their sniffing, the clock, and the event/notice helpers that
every write appends through."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.cases.models import Application, CaseEvent, CaseStatus, Delivery
from tongban.cases.receipt import receipt_display
from tongban.cases.selectors import reason_for_applicant
from tongban.common.effects import run_after_commit
from tongban.common.errors import InvalidInput
from tongban.common.services import actor_label_for
from tongban.notifications.services import notice_send

logger = logging.getLogger(__name__)

SYSTEM_AUTO = "system:auto"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_CASE = 20
REASON_MAX = 1000
DRAFT_MAX_CHARS = 64_000
IDEMPOTENCY_KEY_MAX = 128

# 统一发证: the certificates app appends callables here at start-up; each is called on commit
# with the concluded case. Kept as a plain list so the cases app never imports certificates.
IssuanceHook = Callable[[Application], None]
issuance_hooks: list[IssuanceHook] = []


def register_issuance_hook(hook: IssuanceHook) -> None:
    if hook not in issuance_hooks:
        issuance_hooks.append(hook)


# An item with outputs was approved: the certificates app issues what it can at once, so the
# items after it in the same case can use it. Called on commit with the (open) case.
item_approved_hooks: list[IssuanceHook] = []


def register_item_approved_hook(hook: IssuanceHook) -> None:
    if hook not in item_approved_hooks:
        item_approved_hooks.append(hook)


# 好差评 一次一评: the reviews app appends callables here; each is called on commit with a case
# just handed out at the window, so the case engine never imports reviews.
handout_hooks: list[IssuanceHook] = []


def register_handout_hook(hook: IssuanceHook) -> None:
    if hook not in handout_hooks:
        handout_hooks.append(hook)


# The stages a case's hooks run at, by the name their queued task carries.
HOOK_STAGES: dict[str, list[IssuanceHook]] = {
    "issuance": issuance_hooks,
    "item_approved": item_approved_hooks,
    "handout": handout_hooks,
}


# ---------------------------------------------------------------- uploads


@dataclass(frozen=True)
class Upload:
    """One file as received: the API turns a request's file into this, tests build it."""

    name: str
    content: bytes


_MAGIC = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


def upload_sniff(content: bytes) -> tuple[str, str] | None:
    """(content type, extension) by magic bytes; the name a browser sends proves nothing."""
    for magic, content_type, ext in _MAGIC:
        if content.startswith(magic):
            return content_type, ext
    return None


@dataclass(frozen=True)
class MaterialInput:
    """How the applicant satisfies one material: upload (files), commitment or deferred."""

    how: str
    files: tuple[Upload, ...] = ()
    # Files already kept with the applicant's own draft (DraftUpload ids), as the
    # step-by-step form hands them over; case_submit reads them only from that draft.
    draft_uploads: tuple[int, ...] = ()


# ---------------------------------------------------------------- helpers


def _now() -> dt.datetime:
    return timezone.now()


def _today() -> dt.date:
    return timezone.localdate()


def _actor_label(actor: User | None, label: str | None = None) -> str:
    return label or actor_label_for(actor)


_INTAKE_ACTIONS = frozenset({"accepted", "accepted_deferred", "refused", "supplement_requested"})


def _intake_post(actor: User, case: Application) -> str:
    lead = StaffAssignment.objects.filter(
        user=actor, role=StaffRole.ACCEPTOR, department_id=case.lead_department_id
    ).exists()
    return "department" if lead else "counter"


def _event(
    case: Application,
    *,
    actor: User | None,
    action: str,
    to_status: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> CaseEvent:
    """Append an event; when TO_STATUS is given, set the case's status in the same breath so
    the denormalised column can never disagree with the log."""
    last = case.events.order_by("-seq").values_list("seq", flat=True).first() or 0
    if action in _INTAKE_ACTIONS and actor is not None and getattr(actor, "is_staff_member", False):
        # Which desk acted (前台综合受理 or the lead department), for the applicant's timeline.
        data = {**(data or {}), "post": _intake_post(actor, case)}
    from_status = case.status
    if to_status:
        case.status = to_status
        case.save(update_fields=["status", "outcome", "accepted_at", "concluded_at", "updated_at"])
        told = reason_for_applicant(action=action, actor_label=_actor_label(actor, actor_label))
        _notify_applicant(case, reason=reason if told else "")
    return CaseEvent.objects.create(
        case=case,
        seq=last + 1,
        at=_now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=_actor_label(actor, actor_label),
        action=action,
        from_status=from_status if to_status else "",
        to_status=to_status,
        reason=reason,
        data=data or {},
    )


def _notify_applicant(case: Application, *, reason: str) -> None:
    """An in-app notice on every status change (一体管理); joins the caller's transaction."""
    label = case.get_status_display()
    if case.status == CaseStatus.CONCLUDED and case.outcome:
        label = f"已办结（{case.get_outcome_display()}）"
        if case.delivery == Delivery.COUNTER:
            label += "，请到窗口领取"
        elif case.delivery == Delivery.POST:
            label += "，待邮寄"
    elif case.status == CaseStatus.ARCHIVED and case.handed_out_at is not None:
        label = "已寄出" if case.delivery == Delivery.POST else "已领取"
    template = {
        CaseStatus.ACCEPTED: "case_accepted",
        CaseStatus.SUPPLEMENT_REQUESTED: "case_supplement_requested",
        CaseStatus.CONCLUDED: "case_concluded",
        CaseStatus.REFUSED: "case_refused",
    }.get(case.status, "case_status")
    notice_send(
        recipient=case.applicant,
        template=template,
        context={
            "case_name": case.name,
            "status_label": label,
            "receipt": receipt_display(case.receipt_no),
            "reason": reason,
        },
        link=f"/me/cases/{case.receipt_no}/",  # the page people read, not the JSON
        category="case",
    )


def _clean_reason(reason: str, *, required: bool = True) -> str:
    value = (reason or "").strip()
    if required and not value:
        raise InvalidInput("请填写理由", code="REASON_REQUIRED")
    if len(value) > REASON_MAX:
        raise InvalidInput(f"理由不得超过{REASON_MAX}字", code="REASON_TOO_LONG")
    return value


def _lock_case(receipt_no: str) -> Application:
    from tongban.cases.errors import CaseNotFound

    case = Application.objects.select_for_update().filter(receipt_no=receipt_no).first()
    if case is None:
        raise CaseNotFound()
    return case


def _hooks_after_commit(case: Application, stage: str) -> None:
    """The hooks of STAGE, called with CASE as committed once this transaction commits. The
    decision is queued in this transaction (tongban.common.effects), so a process that dies
    right after the commit leaves them to the worker instead of losing them; normally this
    process runs them at once."""
    from tongban.cases.tasks import case_hooks_task

    if stage not in HOOK_STAGES:
        raise ValueError(f"unknown hook stage {stage!r}")
    run_after_commit(case_hooks_task, receipt_no=case.receipt_no, stage=stage)


class CaseHooksFailed(RuntimeError):
    """Marks the hooks' task FAILED, naming the hooks that raised (the others ran)."""


def case_hooks_run(*, receipt_no: str, stage: str) -> int:
    """Call every hook of STAGE with the committed case; each is safe to call again (run at
    least once). One hook's failure does not keep the others from running. Returns how many
    ran."""
    hooks = list(HOOK_STAGES[stage])
    case = Application.objects.filter(receipt_no=receipt_no).first()
    if case is None:
        return 0
    failed = []
    for hook in hooks:
        try:
            hook(case)
        except Exception:
            logger.exception("%s hook %s failed for case %s", stage, hook.__qualname__, receipt_no)
            failed.append(f"{hook.__module__}.{hook.__qualname__}")
    if failed:
        raise CaseHooksFailed(", ".join(failed))
    return len(hooks)
