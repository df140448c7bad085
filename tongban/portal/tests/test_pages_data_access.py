"""我的数据使用记录 (/me/data-access/): the resident reads who (department and post) read which
of their data, when, for which case and why — and nobody reads anyone else's record."""

import pytest

from tongban.accounts.selectors import resident_profile_for_work
from tongban.accounts.tests.factories import StaffAssignmentFactory
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_page_lists_each_read_in_words_and_links_the_case(client, resident, department):
    acceptor = StaffAssignmentFactory(department=department, role="acceptor").user
    resident_profile_for_work(
        viewer=acceptor, profile=resident, use="intake_review", receipt_no="2612031234567"
    )
    client.force_login(resident.user)
    response = client.get("/me/data-access/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{department.name}（受理岗）" in page
    assert "姓名、公民身份号码、联系电话、性别" in page
    assert "受理审查：核对申请人身份" in page
    assert '<a href="/me/cases/2612031234567/" class="receipt-inline">2612 0312 3456 7</a>' in page
    assert acceptor.username not in page


def test_a_resident_sees_only_their_own_record(client, resident, other_resident, department):
    clerk = StaffAssignmentFactory(department=department, role="counter_clerk").user
    resident_profile_for_work(viewer=clerk, profile=other_resident, use="counter_identify")
    client.force_login(resident.user)
    page = client.get("/me/data-access/").content.decode()
    assert "还没有使用您个人数据的记录。" in page
    assert AuditEvent.objects.filter(subject_resident_id=other_resident.pk).count() == 1


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/me/data-access/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
