"""The demo department systems' records agree with the platform's demo population, and every
proof a source definition declares is answered by a named demo subject."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile
from tongban.catalog.models import Department
from tongban.demo import accounts as demo
from tongban.demo.accounts import ensure_demo_accounts
from tongban.demo.population import (
    generate_enterprises,
    generate_households,
    generate_residents,
)
from tongban.exchange.demo_sources import dataset
from tongban.exchange.demo_sources.dataset import build, demo_subjects

TODAY = dt.date(2026, 3, 1)


@pytest.fixture
def city(db):
    Department.objects.create(code="SH-GA", name="示例市公安局", region_code="310000")
    Department.objects.create(
        code="SH-ZWFW", name="示例市政务服务中心", short_name="市政务服务中心", region_code="310000"
    )
    ensure_demo_accounts()
    generate_residents(count=300, seed=7, progress=False)
    generate_households(seed=7, progress=False)
    generate_enterprises(count=20, seed=7, progress=False)
    # One veteran for certain (the generator's rate would give a few, by chance).
    veteran = ResidentProfile.objects.filter(is_synthetic=True, birth_date__year__lt=1990).first()
    ResidentProfile.objects.filter(pk=veteran.pk).update(is_veteran=True)


@pytest.fixture
def store(city, tmp_path):
    path = tmp_path / "sources.sqlite3"
    counts = build(path, today=TODAY)
    return path, counts


def _table(path, code) -> dict[str, dict]:
    conn = sqlite3.connect(path)
    try:
        return {k: json.loads(v) for k, v in conn.execute(f'SELECT key, data FROM "{code}"')}  # noqa: S608
    finally:
        conn.close()


def _record(path, code, key) -> dict | None:
    return _table(path, code).get(key)


def test_every_declared_proof_is_answered_by_its_demo_subject(store):
    path, _ = store
    rows = demo_subjects()
    assert len(rows) == 34  # every (source, material) of every definition's `proves`
    for row in rows:
        if row["transport"] == "inprocess":
            # 居民经济状况核对: the platform answers it from its own household records.
            assert (row["source"], row["subject"]) == ("mzj_economy_check", "陈志强（resident3）")
            continue
        if row["key"] is None:
            keys = [
                p.id_number
                for p in ResidentProfile.objects.filter(**row["profile_filter"]).order_by("id")
            ]
            assert keys, row
            key = keys[0]
        else:
            key = row["key"]
        record = _record(path, row["source"], key) or {}
        missing = [e for e in row["elements"] if record.get(e) is None or record[e] is False]
        assert not missing, (row["source"], row["material"], row["subject"], missing)


def test_counts_cover_every_http_source_and_every_resident(store):
    _path, counts = store
    assert len(counts) == 23 and "mzj_economy_check" not in counts
    residents = ResidentProfile.objects.count()
    enterprises = Enterprise.objects.count()
    # Every resident, plus legal representatives who are not residents here (赵建国 …).
    assert counts["gaj_population"] >= residents
    assert counts["scj_market_entity"] == enterprises == 22


def test_li_jing_and_her_family(store):
    path, _ = store
    mother, father, son = demo._MOTHER, demo._FATHER, demo._SON
    assert _record(path, "gaj_population", mother.id_number) == {
        "name": "李静",
        "gender": "女",
        "ethnicity": "汉族",
        "birth_date": "1994-05-12",
        "id_issuing_authority": "示例市公安局徐汇分局",
        "id_valid_from": "2020-06-24",
        "id_valid_until": "2040-06-24",
        "photo_ref": "ZPA9F8F14676E6",
        "photo_taken_on": "2020-05-30",
        "hukou_address": "上海市徐汇区示例路88弄8号301室",
        "household_number": "310104D0000001",
        "relation_to_head": "户主",
    }
    wife = _record(path, "mzj_marriage", mother.id_number)
    husband = _record(path, "mzj_marriage", father.id_number)
    assert (wife["spouse_name"], wife["spouse_id_number"]) == ("王磊", father.id_number)
    assert (husband["spouse_name"], husband["spouse_id_number"]) == ("李静", mother.id_number)
    assert wife["marriage_cert_no"] == husband["marriage_cert_no"] == "J310104-2019-008866"
    boy = _record(path, "gaj_population", son.id_number)
    assert (boy["guardian_name"], boy["guardian_relation"]) == ("李静", "母亲")
    assert "id_valid_until" not in boy  # no 身份证 at four
    assert _record(path, "wjw_immunisation", son.id_number)["vaccination_card_no"] == (
        "YM20210315000909"
    )
    assert _record(path, "swj_tax_person", father.id_number)["tax_type"] == "契税"


def test_chen_zhiqiang_disabled_not_on_allowance_and_his_daughter(store):
    path, _ = store
    chen, daughter = demo._DISABLED, demo._DAUGHTER
    assert _record(path, "cl_disability", chen.id_number) == {
        "disability_card_no": f"{chen.id_number}42",
        "disability_category": "肢体残疾",
        "disability_grade": 2,
        "card_issued_on": "2020-04-08",
        "card_valid_until": "2030-04-08",
    }
    # Not (yet) on 低保, as his profile says: 政策找人 is what finds his household.
    assert _record(path, "mzj_assistance", chen.id_number) is None
    assert _record(path, "mzj_marriage", chen.id_number) == {
        "marital_status": "离婚",
        "registration_office": "示例市杨浦区婚姻登记处",
    }
    assert _record(path, "ghzy_real_estate", chen.id_number) == {
        "property_count": 0,
        "checked_on": "2026-03-01",
    }
    girl = _record(path, "gaj_population", daughter.id_number)
    assert (girl["guardian_name"], girl["guardian_relation"]) == ("陈志强", "父亲")
    school = _record(path, "jw_student", daughter.id_number)
    # Born 2 June 2014: 一年级 from September 2020, so 六年级 in the school year 2025/26.
    assert (school["study_stage"], school["grade"], school["enrolled_on"]) == (
        "小学",
        "六年级",
        "2020-09-01",
    )


def test_wu_fang_non_local_on_a_residence_permit_with_a_job_and_a_lease(store):
    path, _ = store
    wu = demo._AGENT
    population = _record(path, "gaj_population", wu.id_number)
    assert "hukou_address" not in population and "household_number" not in population
    assert population["id_issuing_authority"] == "户籍地公安机关（示例）"
    permit = _record(path, "ga_residence_permit", wu.id_number)
    assert (permit["permit_valid"], permit["permit_valid_until"]) == (True, "2026-09-01")
    job = _record(path, "rsj_insurance", wu.id_number)
    assert (job["employer_name"], job["employer_uscc"]) == (
        demo._RESTAURANT.name,
        demo._RESTAURANT.uscc,
    )
    lease = _record(path, "fgj_rental", wu.id_number)
    assert lease["rental_address"] == wu.residence_address and lease["lease_current"] is True


def test_companies_and_their_representatives(store):
    path, _ = store
    tech = _record(path, "scj_market_entity", demo._TECH.uscc)
    assert (tech["enterprise_name"], tech["legal_representative"], tech["registration_status"]) == (
        "示例（上海）通办科技有限公司",
        "周明",
        "存续",
    )
    assert _record(path, "swj_tax", demo._TECH.uscc)["tax_credit_rating"] == "A"
    assert _record(path, "rsj_unit_insurance", demo._TECH.uscc)["insured_headcount"] == 42
    # 赵建国 has no resident profile; the population register still knows him.
    zhao = _record(path, "gaj_population", demo._RESTAURANT.legal_representative_id_number)
    assert (zhao["name"], zhao["gender"], zhao["birth_date"]) == ("赵建国", "男", "1968-04-09")


def test_generated_population_agrees_with_the_profiles(store):
    path, _ = store
    disability = _table(path, "cl_disability")
    permits = _table(path, "ga_residence_permit")
    veterans = _table(path, "tyj_veteran")
    marriages = _table(path, "mzj_marriage")
    population = _table(path, "gaj_population")
    assistance = _table(path, "mzj_assistance")
    profiles = list(ResidentProfile.objects.filter(is_synthetic=True))
    assert profiles
    for p in profiles:
        key = p.id_number
        assert population[key]["name"] == p.name
        assert population[key]["birth_date"] == p.birth_date.isoformat()
        if p.disability_grade:
            assert disability[key]["disability_grade"] == p.disability_grade
        elif key != demo._DISABLED.id_number:
            assert key not in disability
        assert (key in permits) == p.has_residence_permit
        assert (key in veterans) == p.is_veteran
        assert (key in marriages) == (p.marital_status != "unmarried")
        if p.is_minimum_living_allowance:
            assert assistance[key]["assistance_type"] == "最低生活保障"
        if p.hukou_is_local and p.household_id:
            assert population[key]["household_number"] == p.household.number
    # Married couples sharing a household name each other on the same certificate.
    couples = 0
    for p in profiles:
        record = marriages.get(p.id_number) or {}
        spouse = record.get("spouse_id_number")
        if spouse:
            other = marriages[spouse]
            assert other["spouse_id_number"] == p.id_number
            assert other["marriage_cert_no"] == record["marriage_cert_no"]
            couples += 1
    assert couples > 10
    for e in Enterprise.objects.all():
        record = _record(path, "scj_market_entity", e.uscc)
        assert (record["enterprise_name"], record["legal_representative"]) == (
            e.name,
            e.legal_representative,
        )


def test_rebuild_is_deterministic_and_if_changed_keeps_an_unchanged_store(store, tmp_path):
    path, counts = store
    again = tmp_path / "again.sqlite3"
    assert build(again, today=TODAY) == counts
    for code in counts:
        assert _table(again, code) == _table(path, code), code
    inode = path.stat().st_ino
    assert build(path, today=TODAY, if_changed=True) == counts
    assert path.stat().st_ino == inode  # kept, not rewritten
    # A profile changed (save() sets updated_at; so does a later generator run).
    ResidentProfile.objects.filter(name="张桂英").update(updated_at=timezone.now())
    build(path, today=TODAY, if_changed=True)
    assert path.stat().st_ino != inode
    assert not list(tmp_path.glob("*.tmp"))


def test_a_failed_build_leaves_the_old_store(store, monkeypatch):
    path, _ = store
    before = _table(path, "gaj_population")

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(dataset, "_apply_demo", boom)
    with pytest.raises(RuntimeError):
        build(path, today=TODAY)
    assert _table(path, "gaj_population") == before
    assert not list(path.parent.glob("*.tmp"))


def test_small_batches_give_the_same_store(city, tmp_path):
    one = build(tmp_path / "one.sqlite3", today=TODAY)
    many = build(tmp_path / "many.sqlite3", today=TODAY, batch_households=7)
    assert one == many
    assert _table(tmp_path / "one.sqlite3", "mzj_marriage") == _table(
        tmp_path / "many.sqlite3", "mzj_marriage"
    )


def test_command_refuses_without_a_store(db, settings, tmp_path):
    settings.TONGBAN_DEMO_SOURCES_DB = tmp_path / "missing.sqlite3"
    with pytest.raises(CommandError, match="请先运行 make city"):
        call_command("demo_sources", "--port", "0")
    dataset.write_records(settings.TONGBAN_DEMO_SOURCES_DB, {})
    with pytest.raises(CommandError, match="没有编码为 nope 的数据源"):
        call_command("demo_sources", "--port", "0", "--fault", "nope=drop")
