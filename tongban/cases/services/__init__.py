"""Every write of the case engine. Keyword-only; each call is one transaction that appends a
CaseEvent naming the actor; side effects run on commit.

Flow: case_submit → (auto) case_accept | case_request_supplement → case_supplement |
case_refuse_intake → tasks (waiting/pending) → task_claim / task_decide (or auto-decided by
review points) → conclusion → issuance hooks → archived (delivery online) or, for counter
pick-up and post, case_hand_out (统一窗口出件) → archived.

One module per stage, so a rule is found by the stage it belongs to:

- _common: limits, hook registries, upload types, the clock and the event/notice helpers
- apply: 申请 — form and materials, drafts, duplicates, case_submit, 综合窗口 registration
- intake: 受理 — accept, refuse, 补正 asked and answered, 容缺 materials delivered later
- review: 审核 — task release, review points, claim, decide, produced values, conclusion
- handout: 统一窗口出件, and 统一发证 recorded on the case
- sweeps: SLA, 补正 and 容缺 deadline sweeps

At import time a stage reads only _common and the stages it calls: intake reads apply and
review, review reads apply; apply reaches intake (auto-accept) inside _after_submit. This package
re-exports every public name (and the few errors callers have always taken from here), so
`from tongban.cases.services import case_submit` and `services.issuance_hooks` are unchanged.
"""

from tongban.cases.errors import CaseFormInvalid, IdempotencyKeyRequired, UploadRefused
from tongban.cases.receipt import receipt_display
from tongban.cases.services._common import (
    DRAFT_MAX_CHARS,
    IDEMPOTENCY_KEY_MAX,
    MAX_FILES_PER_CASE,
    MAX_UPLOAD_BYTES,
    REASON_MAX,
    SYSTEM_AUTO,
    IssuanceHook,
    MaterialInput,
    Upload,
    handout_hooks,
    issuance_hooks,
    item_approved_hooks,
    register_handout_hook,
    register_issuance_hook,
    register_item_approved_hook,
    upload_sniff,
)
from tongban.cases.services.apply import (
    WALK_IN_PURPOSE,
    DraftUploadResult,
    case_submit,
    counter_resident_register,
    deferrable_days_for,
    draft_save,
    draft_upload_add,
    draft_upload_remove,
    form_validate,
    materials_check,
    plan_from_guide,
)
from tongban.cases.services.handout import HANDOUT_NOTE_MAX, case_hand_out, case_note_issued
from tongban.cases.services.intake import (
    case_accept,
    case_deferred_material_submit,
    case_refuse_intake,
    case_request_supplement,
    case_supplement,
    case_supplement_at_counter,
    task_request_supplement,
)
from tongban.cases.services.review import (
    produced_by,
    review_points_evaluate,
    task_claim,
    task_decide,
)
from tongban.cases.services.sweeps import (
    SUPPLEMENT_EXPIRED_TASK_REASON,
    SYSTEM_SLA,
    SupplementSweepResult,
    SweepResult,
    case_deferred_material_sweep,
    case_supplement_sweep,
    department_leads,
    task_sla_sweep,
)
from tongban.common.errors import InvalidInput

__all__ = [
    "DRAFT_MAX_CHARS",
    "HANDOUT_NOTE_MAX",
    "IDEMPOTENCY_KEY_MAX",
    "MAX_FILES_PER_CASE",
    "MAX_UPLOAD_BYTES",
    "REASON_MAX",
    "SUPPLEMENT_EXPIRED_TASK_REASON",
    "SYSTEM_AUTO",
    "SYSTEM_SLA",
    "WALK_IN_PURPOSE",
    "CaseFormInvalid",
    "DraftUploadResult",
    "IdempotencyKeyRequired",
    "InvalidInput",
    "IssuanceHook",
    "MaterialInput",
    "SupplementSweepResult",
    "SweepResult",
    "Upload",
    "UploadRefused",
    "case_accept",
    "case_deferred_material_submit",
    "case_deferred_material_sweep",
    "case_hand_out",
    "case_note_issued",
    "case_refuse_intake",
    "case_request_supplement",
    "case_submit",
    "case_supplement",
    "case_supplement_at_counter",
    "case_supplement_sweep",
    "counter_resident_register",
    "deferrable_days_for",
    "department_leads",
    "draft_save",
    "draft_upload_add",
    "draft_upload_remove",
    "form_validate",
    "handout_hooks",
    "issuance_hooks",
    "item_approved_hooks",
    "materials_check",
    "plan_from_guide",
    "produced_by",
    "receipt_display",
    "register_handout_hook",
    "register_issuance_hook",
    "register_item_approved_hook",
    "review_points_evaluate",
    "task_claim",
    "task_decide",
    "task_request_supplement",
    "task_sla_sweep",
    "upload_sniff",
]
