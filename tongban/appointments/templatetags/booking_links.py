"""预约到厅办理 links for the item guide and the resident's case page (统一预约). Each tag
renders nothing when no hall offers booking for the item."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template

from tongban.appointments.selectors import booking as selectors

register = template.Library()


@register.inclusion_tag("appointments/booking_link_item.html")
def booking_link_for_item(item) -> dict:
    """On an item's guide: the link to a slot when the item needs a visit (or the booking
    is the service itself) and a hall offers booking for it."""
    url = selectors.booking_url_for_item(item)
    if not url:
        return {"show": False}
    return {
        "show": True,
        # 婚姻登记预约: the form asks for both parties and the time; submitting it books.
        "url": url,
        "appointment": selectors.item_books_on_form(item),
        "online": "online" in item.channels,
    }


@register.inclusion_tag("appointments/booking_link_case.html")
def booking_links_for_case(receipt_no: str) -> dict:
    """On the applicant's case page (the template shows it to the applicant only): for each
    item of the case that needs a visit — or whose 补正 asks for an original — the booking
    made for the case, or a link to book one."""
    from tongban.cases.models import Application

    case = Application.objects.filter(receipt_no=receipt_no).first()
    if case is None:
        return {"rows": []}
    rows = []
    for entry in selectors.visit_items_for_case(case):
        booking = selectors.active_booking_for_case(case=case, item_code=entry["code"])
        query = {"item": entry["code"], "case": case.receipt_no}
        rows.append(
            {
                **entry,
                "booking": selectors.booking_display(booking) if booking else None,
                "url": "/bookings/new/?" + urlencode(query),
            }
        )
    return {"rows": rows}
