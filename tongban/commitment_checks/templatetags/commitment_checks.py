"""The one line a resident's case page shows when a commitment of the case was found false."""

from django import template

from tongban.commitment_checks.selectors import false_check_notice_for_case

register = template.Library()


@register.inclusion_tag("commitment_checks/_case_line.html", takes_context=True)
def commitment_false_line(context, receipt_no: str):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"line": false_check_notice_for_case(user=user, receipt_no=receipt_no)}
