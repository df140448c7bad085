"""轮候 services: loading the definitions, classes from the person's facts, the order, offers
(accept, decline, lapse, withdraw), re-ranking, the case hook and who may do what."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from tongban.accounts.services import resident_profile_update
from tongban.appointments.models import (
    EntryStatus,
    OfferStatus,
    PlaceStatus,
    WaitingEntry,
    WaitingEvent,
    WaitingOffer,
)
from tongban.appointments.selectors.waitlist import entry_position
from tongban.appointments.services import waitlist as services
from tongban.appointments.tests.factories_waitlist import (
    CARE,
    DEMO,
    T0,
    bed,
    fresh,
    join,
    minutes,
    person,
)
from tongban.catalog.models import DefinitionVersion
from tongban.common.errors import Conflict
from tongban.notifications.models import Notice

pytest_plugins = ["tongban.appointments.tests.conftest_waitlist"]
DAY = dt.timedelta(days=1)


def events(entry) -> list[tuple[str, int | None]]:
    return list(WaitingEvent.objects.filter(entry=entry).values_list("kind", "position"))


def test_definitions_load_once_and_version_on_change(lists, tmp_path):
    assert sorted(lists) == [CARE, "public_rental_housing"]
    care = lists[CARE]
    assert care.item_code == "SH-MZJ-0304"
    assert care.department.code == "SH-MZJ"
    assert care.offer_days == 3
    assert [(c["code"], c["rank"]) for c in care.priority_classes] == [
        ("assured", 1),
        ("severe", 2),
        ("moderate_or_aged", 3),
        ("general", 4),
    ]
    again = services.waiting_lists_load(directory=DEMO / "waiting_lists")
    assert again.as_dict() == {"created": 0, "changed": 0, "unchanged": 2, "deactivated": 0}
    folder = tmp_path / "waiting_lists"
    folder.mkdir()
    text = (DEMO / "waiting_lists" / "elderly_care_home.yaml").read_text(encoding="utf-8")
    (folder / "care.yaml").write_text(text.replace("offer_days: 3", "offer_days: 5"), "utf-8")
    report = services.waiting_lists_load(directory=folder)
    assert report.as_dict() == {"created": 0, "changed": 1, "unchanged": 0, "deactivated": 1}
    care.refresh_from_db()
    assert (care.offer_days, care.definition_version) == (5, 2)
    versions = DefinitionVersion.objects.filter(kind="waiting_list", code=CARE)
    assert sorted(versions.values_list("version", flat=True)) == [1, 2]
    assert (
        lists["public_rental_housing"].__class__.objects.get(code="public_rental_housing").is_active
        is False
    )


def test_a_bad_definition_is_refused_with_its_line(lists, tmp_path):
    folder = tmp_path / "waiting_lists"
    folder.mkdir()
    text = (DEMO / "waiting_lists" / "elderly_care_home.yaml").read_text(encoding="utf-8")
    bad = text.replace("resident.is_low_income", "resident.is_rich")
    (folder / "care.yaml").write_text(bad, "utf-8")
    with pytest.raises(services.WaitingListsInvalid) as caught:
        services.waiting_lists_load(directory=folder)
    line = bad.splitlines().index("        - element: resident.is_rich") + 1
    assert [(p.file, p.line, p.message) for p in caught.value.problems] == [
        ("care.yaml", line, "未知的数据元：resident.is_rich")
    ]
    assert lists[CARE].__class__.objects.get(code=CARE).definition_version == 1


def test_classes_come_from_the_facts(care):
    cases = [
        (person(dibao=True), "assured", 1, "最低生活保障对象"),
        (person(low_income=True), "assured", 1, "低收入家庭成员"),
        (person(age=85), "moderate_or_aged", 3, "年满80周岁"),
        (person(age=72), "general", 4, ""),
    ]
    for profile, code, rank, reason in cases:
        p = services.priority_of(waiting_list=care, profile=profile, now=T0)
        assert (p.code, p.rank) == (code, rank)
        assert p.reason.startswith(reason)


def test_the_assessment_certificate_gives_the_care_level(care):
    from tongban.certificates.services import certificate_issue, certificate_types_load

    certificate_types_load(directory=DEMO / "certificate_types")
    profile = person(age=72)
    certificate_issue(
        type_code="long_term_care_assessment",
        holder_profile=profile,
        claims={
            "name": profile.name,
            "id_number": profile.id_number,
            "care_level": 5,
            "assessed_on": "2026-02-01",
            "assessment_agency": "示例医保局",
        },
        actor_label="system:test",
    )
    p = services.priority_of(waiting_list=care, profile=profile)
    assert (p.code, p.rank, p.reason) == ("severe", 2, "照护等级五级及以上")


def test_order_is_class_then_time_and_each_join_records_its_position(care):
    a, b, c = person(name="甲示例"), person(name="乙示例"), person(dibao=True, name="丙示例")
    ea = join(care, a, T0)
    eb = join(care, b, T0 + minutes(1))
    ec = join(care, c, T0 + minutes(2))
    assert [entry_position(e) for e in (ea, eb, ec)] == [2, 3, 1]
    assert events(ea) == [("joined", 1)]
    assert events(eb) == [("joined", 2)]
    assert events(ec) == [("joined", 1)]
    joined = Notice.objects.get(recipient=c.user, category="waitlist_joined")
    assert joined.title == "您已进入“养老机构入住轮候（示例）”，当前第1位"
    with pytest.raises(Conflict) as again:
        join(care, a, T0 + minutes(3))
    assert again.value.code == "WAITLIST_ALREADY_ON_LIST"
    assert WaitingEntry.objects.filter(profile=a).count() == 1


def test_a_freed_bed_goes_to_the_first_then_a_decline_passes_it_on(care, staff):
    first, second = person(dibao=True), person()
    e1, e2 = join(care, first, T0), join(care, second, T0 + minutes(1))
    place = bed(care)
    offer = services.place_free(place=place, actor=staff.acceptor, now=T0 + DAY)
    assert (offer.entry_id, offer.status) == (e1.pk, OfferStatus.OPEN)
    assert offer.respond_by == T0 + 4 * DAY
    assert fresh(place).status == PlaceStatus.OFFERED
    notice = Notice.objects.get(recipient=first.user, category="waitlist_offer")
    assert notice.title == "轮候到您了：示例福利院（示例）101室1床"
    assert "3月6日10:00" in notice.body

    services.offer_decline(offer_id=offer.pk, actor=first.user, reason="太远", now=T0 + 2 * DAY)
    offer.refresh_from_db()
    e1.refresh_from_db()
    assert (offer.status, e1.status, e1.declines) == (OfferStatus.DECLINED, "waiting", 1)
    assert events(e1) == [("joined", 1), ("offered", 1), ("declined", 1)]
    nxt = WaitingOffer.objects.get(place=place, status=OfferStatus.OPEN)
    assert nxt.entry_id == e2.pk
    assert events(e2) == [("joined", 2), ("offered", 2)]
    assert fresh(place).status == PlaceStatus.OFFERED


def test_accept_places_the_person_and_moves_the_others_up(care, staff):
    first, second = person(), person()
    e1, e2 = join(care, first, T0), join(care, second, T0 + minutes(1))
    place = bed(care)
    offer = services.place_free(place=place, actor=staff.reviewer, now=T0 + DAY)
    services.offer_accept(offer_id=offer.pk, actor=first.user, now=T0 + 2 * DAY)
    e1.refresh_from_db()
    assert (e1.status, e1.closed_at) == (EntryStatus.PLACED, T0 + 2 * DAY)
    assert fresh(place).status == PlaceStatus.OCCUPIED
    assert events(e1) == [("joined", 1), ("offered", 1), ("accepted", None)]
    assert entry_position(e2) == 1
    with pytest.raises(Conflict) as twice:
        services.offer_accept(offer_id=offer.pk, actor=first.user, now=T0 + 2 * DAY)
    assert twice.value.code == "WAITLIST_OFFER_CLOSED"


def test_an_offer_lapses_after_its_deadline_and_goes_to_the_next(care, staff):
    first, second = person(), person()
    e1, e2 = join(care, first, T0), join(care, second, T0 + minutes(1))
    place = bed(care)
    offer = services.place_free(place=place, actor=staff.acceptor, now=T0)
    assert services.waitlist_sweep(offer.respond_by - minutes(1), None) == {
        "expired": 0,
        "offered": 0,
    }
    late = offer.respond_by + minutes(1)
    with pytest.raises(Conflict) as refused:
        services.offer_accept(offer_id=offer.pk, actor=first.user, now=late)
    assert refused.value.code == "WAITLIST_OFFER_EXPIRED"
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN  # the refusal changed nothing
    assert services.waitlist_sweep(late, None) == {"expired": 1, "offered": 1}
    assert services.waitlist_sweep(late, None) == {"expired": 0, "offered": 0}
    offer.refresh_from_db()
    e1.refresh_from_db()
    assert (offer.status, e1.status, e1.declines) == (OfferStatus.EXPIRED, "waiting", 1)
    assert events(e1)[-1] == ("expired", 1)
    assert WaitingOffer.objects.get(place=place, status="open").entry_id == e2.pk
    assert Notice.objects.filter(recipient=first.user, category="waitlist_offer_expired").count()


def test_withdrawing_with_an_offer_passes_the_bed_on(care, staff):
    first, second = person(), person()
    e1, e2 = join(care, first, T0), join(care, second, T0 + minutes(1))
    place = bed(care)
    offer = services.place_free(place=place, actor=staff.acceptor, now=T0)
    services.waitlist_withdraw(entry=e1, actor=first.user, now=T0 + minutes(5))
    e1.refresh_from_db()
    offer.refresh_from_db()
    assert (e1.status, offer.status) == (EntryStatus.WITHDRAWN, OfferStatus.WITHDRAWN)
    assert events(e1)[-1] == ("withdrawn", None)
    assert WaitingOffer.objects.get(place=place, status="open").entry_id == e2.pk
    with pytest.raises(Conflict):
        services.waitlist_withdraw(entry=e1, actor=first.user)


def test_nobody_waiting_leaves_the_bed_free_until_someone_joins(care, staff):
    place = bed(care)
    assert services.place_free(place=place, actor=staff.acceptor, now=T0) is None
    assert fresh(place).status == PlaceStatus.FREE
    entry = join(care, person(), T0 + DAY)
    assert fresh(place).status == PlaceStatus.OFFERED
    assert events(entry) == [("joined", 1), ("offered", 1)]


def test_becoming_dibao_reranks_with_an_event(care):
    ahead, me = person(), person()
    join(care, ahead, T0)
    mine = join(care, me, T0 + minutes(1))
    assert entry_position(mine) == 2
    resident_profile_update(actor=None, profile=me, changes={"is_minimum_living_allowance": True})
    mine.refresh_from_db()
    assert (mine.priority_class, mine.priority_rank) == ("assured", 1)
    assert events(mine) == [("joined", 2), ("reranked", 1)]
    ev = WaitingEvent.objects.get(entry=mine, kind="reranked")
    assert (ev.data["from_class"], ev.data["from_position"]) == ("general", 2)


def test_others_can_do_nothing(care, staff):
    owner, stranger = person(), person()
    entry = join(care, owner, T0)
    place = bed(care)
    for actor in (staff.other, staff.issuer, stranger.user):
        with pytest.raises(services.WaitlistNotFound):
            services.place_free(place=place, actor=actor, now=T0)
    assert fresh(place).status == PlaceStatus.OCCUPIED
    assert not WaitingOffer.objects.exists()
    offer = services.place_free(place=place, actor=staff.acceptor, now=T0)
    for actor in (stranger.user, staff.acceptor):
        with pytest.raises(services.WaitlistNotFound):
            services.offer_accept(offer_id=offer.pk, actor=actor, now=T0)
        with pytest.raises(services.WaitlistNotFound):
            services.offer_decline(offer_id=offer.pk, actor=actor, now=T0)
        with pytest.raises(services.WaitlistNotFound):
            services.waitlist_withdraw(entry=entry, actor=actor, now=T0)
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, entry.status) == (OfferStatus.OPEN, EntryStatus.OFFERED)
    assert events(entry) == [("joined", 1), ("offered", 1)]


def test_an_approved_case_of_the_item_joins_the_list(care):
    from tongban.appointments.tests.test_waitlist_pages_api import approved_case

    profile = person(age=81)
    case = approved_case(profile)
    services.join_after_conclusion(case)
    services.join_after_conclusion(case)  # a second call finds the entry
    entry = WaitingEntry.objects.get(profile=profile)
    assert (entry.case_id, entry.priority_class, entry.user_id) == (
        case.pk,
        "moderate_or_aged",
        profile.user_id,
    )
    assert WaitingEvent.objects.get(entry=entry).data["receipt_no"] == case.receipt_no


@pytest.mark.django_db(transaction=True)
def test_two_beds_freed_at_once_go_to_two_people(waitlist_catalog_dir, staff_tx):
    from tongban.appointments.models import WaitingList

    care = WaitingList.objects.get(code=CARE)
    entries = [join(care, person(), T0 + minutes(i)) for i in range(3)]
    places = [bed(care, f"10{i}室1床") for i in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def free(place):
        try:
            barrier.wait(timeout=10)
            services.place_free(place=place, actor=staff_tx, now=T0 + DAY)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    if connection.vendor == "postgresql":
        threads = [threading.Thread(target=free, args=(p,)) for p in places]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        # SQLite serialises writers for the whole database (and its in-memory test database
        # is one connection's): one after the other, the outcome must be the same.
        for p in places:
            services.place_free(place=p, actor=staff_tx, now=T0 + DAY)
    assert errors == []
    offered = sorted(WaitingOffer.objects.filter(status="open").values_list("entry_id", flat=True))
    assert offered == sorted(e.pk for e in entries[:2])


@pytest.fixture
def staff_tx(transactional_db, waitlist_catalog_dir):
    from tongban.accounts.models import StaffRole
    from tongban.accounts.tests.factories import StaffFactory
    from tongban.catalog.models import Department
    from tongban.catalog.services import catalog_load_directory

    catalog_load_directory(path=waitlist_catalog_dir)
    services.waiting_lists_load(directory=DEMO / "waiting_lists")
    return StaffFactory(department=Department.objects.get(code="SH-MZJ"), role=StaffRole.ACCEPTOR)
