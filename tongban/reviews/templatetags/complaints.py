"""Template tags that put 投诉建议 on the portal's 工作台 without the portal view knowing
about it: the city operators' card (登记转办、待分派)."""

from __future__ import annotations

from django import template

from tongban.reviews import selectors
from tongban.reviews.services import is_city_operator

register = template.Library()


@register.inclusion_tag("reviews/_complaints_card.html", takes_context=True)
def complaints_card(context):
    user = getattr(context.get("request"), "user", None)
    show = is_city_operator(user)
    return {"show": show, "waiting": len(selectors.triage_queue(user=user)) if show else 0}
