"""Pages of 统一预约: book (hall → day → slot → confirm), my bookings with reschedule and
cancel, the venues (文旅/健身) and, for counter clerks, the hall's bookings of the day and
booking on a resident's behalf. Thin: parse, call the same services and selectors as the
API; a refusal is shown on the page with its message and nothing has changed."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tongban.accounts.selectors import resident_profile_by_id_number, resident_profile_for_work
from tongban.appointments.models import BookingRule, Hall, Slot
from tongban.appointments.selectors import booking as selectors
from tongban.appointments.services import booking as services
from tongban.cases.views_staff import staff_page
from tongban.common.errors import DomainError, InvalidInput, NotFound

STAFF_RESIDENT_KEY = "booking_staff_resident"


def _forbidden(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=status)


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 12 else None


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text or "")
    except ValueError:
        return None


def _case(request: HttpRequest, receipt: str):
    if not receipt:
        return None
    from tongban.cases.models import Application

    return Application.objects.filter(receipt_no=receipt, applicant=request.user).first()


def _slot_choice(*, slots: list[Slot], day: dt.date | None) -> dict:
    """Days with places left (each with how many) and the slots of the chosen day (the
    first such day when none is chosen or the chosen one has none)."""
    days = selectors.slot_days(slots)
    chosen = next((d for d in days if d["day"] == day), days[0] if days else None)
    for d in days:
        d["places"] = sum(s["remaining"] for s in d["slots"])
        d["chosen"] = d is chosen
    return {"days": days, "chosen": chosen}


def _slot_form(day_link: str, method: str, action: str, hidden: dict, submit: str) -> dict:
    return {
        "day_link": day_link,
        "slot_method": method,
        "slot_action": action,
        "slot_hidden": list(hidden.items()),
        "slot_submit": submit,
    }


def _horizon(rules) -> int:
    return max((r.days_ahead for r in rules), default=14)


# ---------------------------------------------------------------- book


@login_required
@require_http_methods(["GET", "POST"])
def booking_start_view(request: HttpRequest) -> HttpResponse:
    """/bookings/new/?item=CODE[&hall=CODE][&case=RECEIPT] or ?venue=CODE&resource=NAME:
    choose the hall, the day and a slot with places left; then confirm (POST)."""
    q = request.GET if request.method == "GET" else request.POST
    item_code, hall_code = q.get("item", "").strip(), q.get("hall", "").strip()
    venue_code, resource = q.get("venue", "").strip(), q.get("resource", "").strip()
    receipt = q.get("case", "").strip()
    case = _case(request, receipt)
    if receipt and case is None:
        raise Http404("未找到该办件")
    context: dict = {
        "item_code": item_code,
        "receipt": receipt,
        "case": case,
        "venue_code": venue_code,
        "resource": resource,
    }
    hall = venue = None
    if venue_code:
        try:
            venue = selectors.venue_get(code=venue_code)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        rules = [r for r in selectors.venue_resources(venue=venue) if r.resource == resource]
        if not rules:
            return redirect("appointments:booking_venue", code=venue.code)
        context.update(place=venue.name, what=resource, venue=venue)
    else:
        if not item_code:
            return redirect("appointments:booking_venues")
        if case is None and selectors.item_code_books_on_form(item_code):
            # The time is chosen on the item's own form, with the details the desk needs.
            return redirect("cases:apply", kind="item", code=item_code)
        context["what"] = selectors.item_name(item_code)
        halls = selectors.halls_for_booking(item_code=item_code)
        hall = next((h for h in halls if h.code == hall_code), None)
        if hall is None:
            context["halls"] = halls
            context["wanted_day"] = _day(request.GET.get("day"))
            return render(request, "appointments/booking_start.html", context)
        rules = list(BookingRule.objects.filter(hall=hall, item_code=item_code, is_active=True))
        context.update(place=hall.name, hall=hall)
    allowed, reason = selectors.booking_may_book(user=request.user)
    context["limited"] = "" if allowed else reason
    if request.method == "POST" and allowed:
        slot_id = _int(request.POST.get("slot"))
        try:
            booking = services.booking_make(
                user=request.user,
                slot_id=slot_id or 0,
                actor=request.user,
                case=case,
                enterprise=case.enterprise if case is not None else None,
                idempotency_key=request.POST.get("key", "")[:64],
            )
        except DomainError as exc:
            context["error"] = exc.message
            status = exc.http_status
        else:
            messages.success(request, "预约成功。请按时携带有效证件到场，凭随申码签到取号。")
            return redirect("appointments:booking_detail", reference=booking.reference)
    else:
        status = 200
    today = timezone.localdate()
    slots = selectors.bookable_slots(
        hall=hall,
        venue=venue,
        item_code=item_code if hall else "",
        resource=resource if venue else "",
        start=today,
        end=today + dt.timedelta(days=_horizon(rules)),
    )
    chosen_slot = _int(request.GET.get("slot")) if request.method == "GET" else None
    confirm = next((s for s in slots if s.pk == chosen_slot), None)
    if confirm is not None:
        context.update(
            confirm=confirm,
            confirm_time=selectors.time_text(confirm),
            confirm_date=selectors.date_text(confirm.day),
            key=uuid.uuid4().hex,
        )
    else:
        params = {
            k: v
            for k, v in (
                ("item", item_code),
                ("hall", hall.code if hall else ""),
                ("venue", venue_code),
                ("resource", resource),
                ("case", receipt),
            )
            if v
        }
        context.update(_slot_choice(slots=slots, day=_day(request.GET.get("day"))))
        context.update(
            _slot_form(f"?{urlencode(params)}&day=", "get", "", params, "下一步：核对预约")
        )
    return render(request, "appointments/booking_start.html", context, status=status)


# ---------------------------------------------------------------- mine, detail


@login_required
def booking_mine_view(request: HttpRequest) -> HttpResponse:
    rows = selectors.bookings_of(user=request.user)
    allowed, reason = selectors.booking_may_book(user=request.user)
    context = {
        "upcoming": [selectors.booking_display(b) for b in rows["upcoming"]],
        "past": [selectors.booking_display(b) for b in rows["past"]],
        "limited": "" if allowed else reason,
    }
    return render(request, "appointments/booking_mine.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def booking_detail_view(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        booking = selectors.booking_for(user=request.user, reference=reference)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if booking.user_id != request.user.pk:
        raise Http404("未找到该预约")  # clerks use the staff page
    error, status = "", 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.booking_cancel(
                    booking=booking, actor=request.user, reason=request.POST.get("reason", "")
                )
                messages.success(request, "已取消预约，名额已释放。")
                return redirect("appointments:booking_detail", reference=booking.reference)
            if action == "reschedule":
                slot_id = _int(request.POST.get("slot"))
                if slot_id is None:
                    raise InvalidInput("请选择新的时段", code="BOOKING_SLOT_REQUIRED")
                new = services.booking_reschedule(
                    booking=booking, slot_id=slot_id, actor=request.user
                )
                messages.success(request, "改约成功，原预约已取消。")
                return redirect("appointments:booking_detail", reference=new.reference)
            raise InvalidInput("请选择要进行的操作")
        except DomainError as exc:
            error, status = exc.message, exc.http_status
    now = timezone.now()
    changeable = booking.status == "booked" and booking.slot.starts_at > now
    context = {"b": selectors.booking_display(booking), "changeable": changeable, "error": error}
    if changeable:
        today = timezone.localdate()
        rule = booking.slot.rule
        slots = [
            s
            for s in selectors.bookable_slots(
                hall=booking.slot.hall,
                venue=booking.slot.venue,
                item_code=booking.slot.item_code,
                resource=booking.slot.resource,
                start=today,
                end=today + dt.timedelta(days=rule.days_ahead),
            )
            if s.pk != booking.slot_id and s.rule_id == rule.pk
        ]
        context.update(_slot_choice(slots=slots, day=_day(request.GET.get("day"))))
        context.update(_slot_form("?day=", "post", "", {"action": "reschedule"}, "改约到所选时段"))
    if booking.rescheduled_from_id:
        context["previous"] = booking.rescheduled_from.reference
    return render(request, "appointments/booking_detail.html", context, status=status)


# ---------------------------------------------------------------- venues


def booking_venues_view(request: HttpRequest) -> HttpResponse:
    venues = [
        {"venue": v, "resources": selectors.venue_resources(venue=v)}
        for v in selectors.venues_active()
    ]
    return render(request, "appointments/booking_venues.html", {"venues": venues})


def booking_venue_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        venue = selectors.venue_get(code=code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    today = timezone.localdate()
    resources = []
    for rule in selectors.venue_resources(venue=venue):
        free = selectors.bookable_slots(
            venue=venue,
            resource=rule.resource,
            start=today,
            end=today + dt.timedelta(days=rule.days_ahead),
        )
        resources.append(
            {
                "rule": rule,
                "free_places": sum(s.remaining for s in free),
                "next": free[0] if free else None,
                "next_text": (f"{selectors.date_text(free[0].day)} {selectors.time_text(free[0])}")
                if free
                else "",
            }
        )
    context = {
        "venue": venue,
        "resources": resources,
        "hours": venue.periods_on(today) if _covered(today) else [],
    }
    return render(request, "appointments/booking_venue.html", context)


def _covered(day: dt.date) -> bool:
    from tongban.common.calendar import default_calendar

    return day.year in default_calendar().years


# ---------------------------------------------------------------- staff


def _staff_resident(request: HttpRequest):
    from tongban.accounts.models import ResidentProfile

    pk = request.session.get(STAFF_RESIDENT_KEY)
    if not isinstance(pk, int):
        return None
    return ResidentProfile.objects.filter(pk=pk, user__isnull=False).select_related("user").first()


@require_http_methods(["GET", "POST"])
@staff_page
def booking_staff_view(request: HttpRequest) -> HttpResponse:
    """/staff/bookings/: a counter clerk's hall — the day's bookings, and booking or
    cancelling for a resident identified by ID number (the read is audited)."""
    hall_ids = selectors.clerk_hall_ids(request.user)
    if not hall_ids:
        return _forbidden(request, "预约管理仅限已指定所在大厅的综合窗口人员使用。")
    halls = list(Hall.objects.filter(pk__in=hall_ids).order_by("code"))
    hall = next((h for h in halls if h.code == request.GET.get("hall")), halls[0])
    day = _day(request.GET.get("day")) or timezone.localdate()
    error, status, id_error = "", 200, ""
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "clear":
        request.session.pop(STAFF_RESIDENT_KEY, None)
        return redirect(f"{reverse('appointments_staff:booking_staff')}?hall={hall.code}")
    if action == "lookup":
        number = request.POST.get("id_number", "").strip()
        try:
            profile = resident_profile_by_id_number(id_number=number)
        except InvalidInput as exc:
            id_error, status = exc.message, 422
        else:
            if profile is None or profile.user_id is None:
                id_error, status = "未找到该居民的账号，请先在综合窗口帮办中登记。", 404
            else:
                request.session[STAFF_RESIDENT_KEY] = profile.pk
                return redirect(f"{reverse('appointments_staff:booking_staff')}?hall={hall.code}")
    resident = _staff_resident(request)
    if action in ("book", "cancel") and resident is not None:
        try:
            if action == "book":
                slot_id = _int(request.POST.get("slot"))
                b = services.booking_make(
                    user=resident.user, slot_id=slot_id or 0, actor=request.user
                )
                messages.success(request, f"已为居民预约，预约号 {b.reference}。")
            else:
                b = selectors.booking_for(
                    user=request.user, reference=request.POST.get("reference", "")
                )
                if b.user_id != resident.user_id:
                    raise NotFound("未找到该预约", code="BOOKING_NOT_FOUND")
                services.booking_cancel(
                    booking=b, actor=request.user, reason=request.POST.get("reason", "")
                )
                messages.success(request, f"已为居民取消预约 {b.reference}。")
            return redirect(f"{reverse('appointments_staff:booking_staff')}?hall={hall.code}")
        except DomainError as exc:
            error, status = exc.message, exc.http_status
    context = {
        "halls": halls,
        "hall": hall,
        "day": day,
        "day_text": selectors.date_text(day),
        "bookings": [
            {**selectors.booking_display(b), "name": _masked_name(b)}
            for b in selectors.hall_bookings_on(hall=hall, day=day)
        ],
        "error": error,
        "id_error": id_error,
    }
    if resident is not None:
        context["resident"] = resident_profile_for_work(
            viewer=request.user,
            profile=resident,
            use="counter_identify",
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        mine = selectors.bookings_of(user=resident.user)["upcoming"]
        context["resident_bookings"] = [
            selectors.booking_display(b) for b in mine if b.slot.hall_id == hall.pk
        ]
        item_code = request.GET.get("item", "")
        rules = list(BookingRule.objects.filter(hall=hall, is_active=True).order_by("item_code"))
        context["items"] = [
            {
                "code": r.item_code,
                "name": selectors.item_name(r.item_code),
                "chosen": r.item_code == item_code,
            }
            for r in rules
        ]
        rule = next((r for r in rules if r.item_code == item_code), None)
        if rule is not None:
            today = timezone.localdate()
            slots = selectors.bookable_slots(
                hall=hall,
                item_code=item_code,
                start=today,
                end=today + dt.timedelta(days=rule.days_ahead),
            )
            context["item_code"] = item_code
            context.update(_slot_choice(slots=slots, day=_day(request.GET.get("slot_day"))))
            link = urlencode({"hall": hall.code, "item": item_code})
            context.update(
                _slot_form(
                    f"?{link}&slot_day=", "post", "", {"action": "book"}, "为该居民预约所选时段"
                )
            )
    return render(request, "appointments/booking_staff.html", context, status=status)


def _masked_name(b) -> str:
    profile = getattr(b.user, "resident_profile", None)
    name = profile.name if profile else ""
    return (name[0] + "*" * (len(name) - 1)) if name else "—"


# ---------------------------------------------------------------- rules (预约规则), staff


def _rule_errors(exc: DomainError, fields: tuple[str, ...]) -> tuple[dict[str, list[str]], str]:
    """A refusal as errors next to FIELDS, the rest (or a refusal of no field) on top."""
    by_field: dict[str, list[str]] = {}
    rest = []
    for d in exc.details:
        if d.get("field") in fields:
            by_field.setdefault(d["field"], []).append(d.get("message", ""))
        elif d.get("message"):
            rest.append(d["message"])
    if not exc.details:
        rest.append(exc.message)
    return by_field, "；".join(rest)


def _number(text: str | None):
    """A whole number as typed; anything else is passed on as it is, for the service to
    refuse with its message next to the field."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 6 else text


def _minute_choices(current: int | None = None) -> list[int]:
    minutes = list(services.RULE_SLOT_MINUTES)
    if current and current not in minutes:  # an older rule's length stays selectable
        minutes = sorted([*minutes, current])
    return minutes


def _rule_limits() -> dict:
    return {
        "capacity_max": services.RULE_CAPACITY_MAX,
        "days_ahead_max": services.RULE_DAYS_AHEAD_MAX,
        "resource_max": services.RULE_RESOURCE_MAX,
    }


def _rule_staff_places(request: HttpRequest) -> tuple[list, list]:
    halls = list(selectors.booking_rule_halls(user=request.user).filter(is_active=True))
    venues = list(selectors.booking_rule_venues(user=request.user).filter(is_active=True))
    return halls, venues


NO_RULE_PLACES = (
    "预约规则仅限大厅所在的综合窗口人员、场馆所属部门负责人、城市运营和系统管理员设置。"
)


@require_http_methods(["GET"])
@staff_page
def booking_rules_view(request: HttpRequest) -> HttpResponse:
    """/staff/bookings/rules/: the rules of the halls and venues the staff member manages."""
    if not selectors.booking_rules_manager(request.user):
        return _forbidden(request, NO_RULE_PLACES)
    rows = selectors.booking_rules_of(user=request.user)
    return render(
        request,
        "appointments/booking_rules.html",
        {"rows": rows, "clerk": bool(selectors.clerk_hall_ids(request.user))},
    )


def _place_of(request: HttpRequest, halls: list, venues: list, text: str):
    kind, _, code = (text or "").partition(":")
    pool = halls if kind == "hall" else venues if kind == "venue" else []
    return next((p for p in pool if p.code == code), None), kind


@require_http_methods(["GET", "POST"])
@staff_page
def booking_rule_new_view(request: HttpRequest) -> HttpResponse:
    """/staff/bookings/rules/new/?place=hall:CODE|venue:CODE: add a rule for a hall's item
    or a venue's resource; without a place, choose one."""
    if not selectors.booking_rules_manager(request.user):
        return _forbidden(request, NO_RULE_PLACES)
    halls, venues = _rule_staff_places(request)
    q = request.POST if request.method == "POST" else request.GET
    place_text = q.get("place", "")
    if not place_text and len(halls) + len(venues) == 1:
        place_text = f"hall:{halls[0].code}" if halls else f"venue:{venues[0].code}"
    place, kind = _place_of(request, halls, venues, place_text)
    context: dict = {"minutes": _minute_choices(), **_rule_limits()}
    if place is None:
        if place_text:
            raise Http404("未找到该大厅或场馆")
        context.update(halls=halls, venues=venues)
        return render(request, "appointments/booking_rule_form.html", context)
    context.update(
        place=place,
        kind=kind,
        place_value=f"{kind}:{place.code}",
        values={
            "slot_minutes": 30,
            "capacity": 4,
            "days_ahead": 14,
            "item_code": "",
            "resource": "",
        },
        errors={},
    )
    if kind == "hall":
        context["items"] = selectors.booking_rule_item_choices(hall=place)
    status = 200
    if request.method == "POST":
        values = {
            "slot_minutes": _number(request.POST.get("slot_minutes")),
            "capacity": _number(request.POST.get("capacity")),
            "days_ahead": _number(request.POST.get("days_ahead")),
            "item_code": request.POST.get("item_code", "").strip(),
            "resource": request.POST.get("resource", "").strip(),
        }
        context["values"] = values
        try:
            rule = services.booking_rule_create(
                actor=request.user,
                hall=place if kind == "hall" else None,
                venue=place if kind == "venue" else None,
                item_code=values["item_code"],
                resource=values["resource"],
                slot_minutes=values["slot_minutes"],
                capacity=values["capacity"],
                days_ahead=values["days_ahead"],
            )
        except DomainError as exc:
            fields = ("slot_minutes", "capacity", "days_ahead", "item_code", "resource")
            context["errors"], context["error"] = _rule_errors(exc, fields)
            status = exc.http_status
        else:
            what = selectors.booking_rule_what(rule)
            messages.success(request, f"已新增“{what}”的预约规则，并已生成可预约时段。")
            return redirect("appointments_staff:booking_rules")
    return render(request, "appointments/booking_rule_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_page
def booking_rule_edit_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    """/staff/bookings/rules/<id>/: change a rule's places per slot, horizon, on/off and,
    while no slot from tomorrow on is booked, its slot length."""
    try:
        rule = selectors.booking_rule_for(user=request.user, rule_id=rule_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    values: dict = {
        "slot_minutes": rule.slot_minutes,
        "capacity": rule.capacity,
        "days_ahead": rule.days_ahead,
        "is_active": rule.is_active,
    }
    errors: dict = {}
    error, status = "", 200
    if request.method == "POST":
        values = {
            "slot_minutes": _number(request.POST.get("slot_minutes")),
            "capacity": _number(request.POST.get("capacity")),
            "days_ahead": _number(request.POST.get("days_ahead")),
            # Radios: a form without the choice leaves the rule on or off as it was.
            "is_active": {"1": True, "0": False}.get(request.POST.get("is_active", "")),
        }
        try:
            services.booking_rule_change(actor=request.user, rule=rule, **values)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            fields = ("slot_minutes", "capacity", "days_ahead", "is_active")
            errors, error = _rule_errors(exc, fields)
            if exc.code == services.BookingRuleSlotLengthLocked.code:
                errors, error = {"slot_minutes": [exc.message]}, ""
            status = exc.http_status
        else:
            messages.success(request, "预约规则已保存。")
            return redirect("appointments_staff:booking_rules")
    context = {
        "rule": rule,
        "place": rule.hall or rule.venue,
        "what": selectors.booking_rule_what(rule),
        "booked": selectors.booking_rule_coming_booked(rule=rule),
        "values": values,
        "active_shown": rule.is_active if values["is_active"] is None else values["is_active"],
        "errors": errors,
        "error": error,
        "minutes": _minute_choices(rule.slot_minutes),
        **_rule_limits(),
    }
    return render(request, "appointments/booking_rule_edit.html", context, status=status)
