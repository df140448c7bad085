import pytest

from tongban.accounts.models import StaffAssignment
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    ResidentProfileFactory,
    UserFactory,
)
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_resident_list_shows_only_masked_identity(admin_client):
    profile = ResidentProfileFactory(id_number="31010419900307123X", phone="13812345678")
    html = admin_client.get("/admin/accounts/residentprofile/").content.decode()
    assert "310***********123X" in html
    assert "138****5678" in html
    assert profile.id_number not in html
    assert "13812345678" not in html
    assert AuditEvent.objects.count() == 0


def test_resident_found_by_typed_id_number(admin_client):
    profile = ResidentProfileFactory(name="查找对象", id_number="31010419900307123X")
    ResidentProfileFactory(name="别人")
    html = admin_client.get(
        "/admin/accounts/residentprofile/", {"q": "31010419900307123x"}
    ).content.decode()
    assert profile.name in html
    assert "别人" not in html


def test_opening_a_profile_is_a_recorded_read_and_edits_go_through_the_service(admin_client):
    profile = ResidentProfileFactory(user=None, phone="13812345678")
    url = f"/admin/accounts/residentprofile/{profile.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert profile.id_number not in page.content.decode()
    read = AuditEvent.objects.get()
    assert (read.action, read.subject_resident_id, read.purpose) == (
        "personal_data.read",
        profile.pk,
        "后台管理：维护居民档案",
    )
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(phone="13900001111", name=profile.name)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    profile.refresh_from_db()
    assert profile.phone == "13900001111"
    update = AuditEvent.objects.get(action="resident_profile.update")
    assert update.data == {"fields": ["phone"]}


def test_enterprise_list_masks_legal_rep(admin_client):
    company = EnterpriseFactory(legal_representative="张三丰")
    html = admin_client.get("/admin/accounts/enterprise/").content.decode()
    assert "张**" in html
    assert "张三丰" not in html
    assert company.legal_representative_id_number not in html


def test_staff_post_added_in_admin_is_audited(admin_client):
    user = UserFactory()
    department = DepartmentFactory()
    response = admin_client.post(
        "/admin/accounts/staffassignment/add/",
        {"user": user.pk, "department": department.pk, "role": "acceptor"},
    )
    assert response.status_code == 302
    assert StaffAssignment.objects.filter(user=user, role="acceptor").count() == 1
    assert AuditEvent.objects.get().action == "staff.assign"


def test_user_admin_never_shows_the_totp_secret(admin_client):
    user = UserFactory(with_totp=True)
    html = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert user.totp_secret not in html
