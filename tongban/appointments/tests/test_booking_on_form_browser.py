"""婚姻登记预约 in Chromium at 390 px: the form's 预约时段 asks first for the hall and day,
then offers only that day's times; submitting books the place chosen and says so."""

from __future__ import annotations

import pytest
from django.conf import settings

from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.accounts.validators import make_id_number
from tongban.appointments.models import Booking
from tongban.appointments.tests.factories_booking import BookingRuleFactory, slot_at, tomorrow_at
from tongban.cases.tests.walk import fill_empty
from tongban.catalog.services import catalog_load_directory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_couple_books_their_registration_on_the_form(page):
    import datetime as dt

    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    person = ResidentProfileFactory(name="林晓")
    rule = BookingRuleFactory(item_code="SH-MZJ-0401", hall__name="测试婚姻登记处（示例）")
    slot_at(rule, tomorrow_at(9))
    later = slot_at(rule, tomorrow_at(14, days=2))
    slot_at(rule, tomorrow_at(14, 30, days=2), booked=4)  # full: not offered
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(person.user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")

    page.goto("/apply/item/SH-MZJ-0401/?marriage_appointment_type=marriage")
    page.goto("/apply/item/SH-MZJ-0401/step/applicant/")
    fill_empty(page, "main")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/step/spouse/")
    page.get_by_label("对方姓名").fill("王示例")
    page.get_by_label("对方公民身份号码").fill(make_id_number("310104", dt.date(1992, 3, 4), 102))
    page.get_by_label("对方手机号码").fill("13912345678")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/step/appointment/")

    day = page.get_by_label("① 办理地点和日期")
    times = page.locator("#field-appointment-slot")
    assert times.locator("option").all_inner_texts() == ["请先选择地点和日期"]
    day.select_option(index=2)
    assert times.locator("option").all_inner_texts() == ["请选择时段", "14:00–14:30（余4个）"]
    times.select_option(str(later.pk))
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/step/materials/")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/step/delivery/")
    page.get_by_label("网上领取").check()
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/check/")
    assert "测试婚姻登记处（示例）" in page.locator("main").inner_text()
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/submitted/")
    booking = Booking.objects.get()
    assert (booking.slot_id, booking.user_id) == (later.pk, person.user_id)
    assert f"预约号 {booking.reference}" in page.locator("#next-steps").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
