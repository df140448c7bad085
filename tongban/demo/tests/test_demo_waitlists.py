"""The demo city's 轮候 lists, built by city_setup from the real services: people without an
online account answer offers by telephone, which the demo records as the system's own path
(the service refuses anyone else who is not the person or a relative)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tongban.appointments.models import OfferStatus, WaitingEvent, WaitingList
from tongban.common.models import AuditEvent
from tongban.demo.waitlists import CARE_HOME_LIST

pytestmark = pytest.mark.django_db


def test_city_setup_fills_the_care_home_list_with_answers_given_by_telephone():
    call_command(
        "city_setup", residents=300, enterprises=10, no_progress=True, stdout=io.StringIO()
    )
    care = WaitingList.objects.get(code=CARE_HOME_LIST)
    accepted = WaitingEvent.objects.filter(entry__waiting_list=care, kind="accepted")
    assert accepted.exists()
    assert set(accepted.values_list("actor_id", "actor_label").distinct()) == {
        (None, "system:demo")
    }
    audits = AuditEvent.objects.filter(action="waitlist.offer_accept")
    assert audits.count() == accepted.count()
    assert set(audits.values_list("actor_id", "actor_label").distinct()) == {(None, "system:demo")}
    # resident2 (the 80-year-old) declined a far bed and waits with an offer open now.
    mine = care.entries.get(profile__user__username="resident2")
    assert mine.offers.filter(status=OfferStatus.DECLINED).count() == 1
    assert mine.offers.filter(status=OfferStatus.OPEN).count() == 1
