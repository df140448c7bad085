"""The 工作台 card of 在线客服, so the portal's staff page shows it without knowing the app."""

from __future__ import annotations

from django import template

from tongban.helpdesk import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def helpdesk_may_open(context) -> bool:
    return selectors.is_helpdesk_staff(getattr(context.get("request"), "user", None))


@register.inclusion_tag("helpdesk/_card.html", takes_context=True)
def helpdesk_card(context):
    user = getattr(context.get("request"), "user", None)
    show = selectors.is_helpdesk_staff(user)
    return {
        "show": show,
        "waiting": selectors.queue_for(user=user).count() if show else 0,
        "left": selectors.messages_left(user=user).count() if show else 0,
    }
