"""Template tags that put 行政协助 on the case engine's and the portal's staff pages without
those views knowing about it: the task page's panel, the queue's 等待行政协助 mark and the
工作台 card."""

from __future__ import annotations

from django import template

from tongban.assistance import selectors

register = template.Library()


@register.inclusion_tag("assistance/_case_panel.html", takes_context=True)
def assistance_panel(context, task_id: int):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"assistance": selectors.case_assistance(user=user, task_id=task_id), "request": request}


@register.simple_tag
def assistance_waiting(rows) -> set[str]:
    """The receipt numbers, among ROWS (a queue page), of cases waiting on a request."""
    return selectors.waiting_receipts([r["receipt_no"] for r in rows])


@register.inclusion_tag("assistance/_card.html", takes_context=True)
def assistance_card(context):
    user = getattr(context.get("request"), "user", None)
    show = selectors.may_open_assistance(user)
    return {"show": show, "waiting": selectors.waiting_count(user) if show else 0}
