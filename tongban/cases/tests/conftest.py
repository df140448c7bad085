"""Case fixtures: the catalog test fixture loaded, a resident, and staff in each department."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.appointments.tests.factories import HallFactory
from tongban.cases.services import MaterialInput, Upload
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES

PDF = b"%PDF-1.4\n% test\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    """Uploads go to a private folder per test, so a test can assert nothing was stored."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return root


@pytest.fixture
def catalog(db):
    catalog_load_directory(path=FIXTURES)


@pytest.fixture
def resident(catalog):
    return ResidentProfileFactory()


@pytest.fixture
def other_resident(catalog):
    return ResidentProfileFactory()


class Staff:
    """Reviewers and acceptors of every department; two halls, each with a counter clerk
    (综合窗口) and an issuer (出件). `clerk` sits in `hall`, `other_clerk` in `other_hall`."""

    def __init__(self):
        self.reviewer = {}
        self.acceptor = {}
        for dept in Department.objects.all():
            self.reviewer[dept.code] = StaffFactory(department=dept, role=StaffRole.REVIEWER)
            self.acceptor[dept.code] = StaffFactory(department=dept, role=StaffRole.ACCEPTOR)
        police = Department.objects.get(code="police")
        self.hall = HallFactory(code="centre", name="市民中心（示例）")
        self.other_hall = HallFactory(code="district", name="区政务服务中心（示例）")
        self.clerk = StaffFactory(department=police, role=StaffRole.COUNTER_CLERK, hall=self.hall)
        self.other_clerk = StaffFactory(
            department=police, role=StaffRole.COUNTER_CLERK, hall=self.other_hall
        )
        self.issuer = StaffFactory(department=police, role=StaffRole.ISSUER, hall=self.hall)
        self.other_issuer = StaffFactory(
            department=police, role=StaffRole.ISSUER, hall=self.other_hall
        )


@pytest.fixture
def staff(catalog):
    return Staff()


def birth_form(resident, *, born_days_ago: int = 3) -> dict:
    born = timezone.localdate() - dt.timedelta(days=born_days_ago)
    return {
        "applicant.name": resident.name,
        "applicant.id_number": resident.id_number,
        "applicant.phone": "13912345678",
        "child.name": "张小宝",
        "child.birth_date": born.isoformat(),
        "child.sex": "F",
        "marriage.certificate_no": "沪徐结字2020-001",
    }


BIRTH_ANSWERS = {
    "born_in_city": "yes",
    "want_sscard": "yes",
    "parents_married": "yes",
    "marriage_local": "yes",
    "card_delivery": "counter",
}


def birth_materials(*, photo: str = "upload") -> dict:
    """Materials the fixture birth bundle still needs from this applicant: the birth medical
    certificate (no e-certificate provider yet) and the child's photo."""
    materials = {
        "birth_medical_certificate": MaterialInput(
            how="upload", files=(Upload("出生证明.pdf", PDF),)
        )
    }
    if photo == "upload":
        materials["child_photo"] = MaterialInput(how="upload", files=(Upload("photo.png", PNG),))
    else:
        materials["child_photo"] = MaterialInput(how=photo)
    return materials


def birth_case(resident, *, key: str = "birth"):
    """RESIDENT's fixture 出生一件事, submitted with the form and materials above."""
    from tongban.cases.services import case_submit

    return case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(),
        idempotency_key=key,
    )
