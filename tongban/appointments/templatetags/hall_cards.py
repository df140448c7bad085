"""The 工作台 cards of the hall as a service (叫号, 导服台, 预约管理, 预约规则, 轮候名单,
自助终端登记, 大厅数据), each shown to the staff whose posts open it, without the portal
knowing why."""

from __future__ import annotations

from django import template

from tongban.appointments.selectors import booking, figures, kiosk, queue, waitlist

register = template.Library()


@register.inclusion_tag("appointments/_staff_cards.html", takes_context=True)
def hall_cards(context):
    user = getattr(context.get("request"), "user", None)
    clerk = bool(queue.clerk_halls(clerk=user))
    return {
        "clerk": clerk,
        "rules": booking.booking_rules_manager(user),
        "keeper": bool(waitlist.lists_kept_by(user=user)),
        "kiosks": kiosk.kiosk_points_for(user=user).exists(),
        "figures": figures.may_view_figures(user),
    }
