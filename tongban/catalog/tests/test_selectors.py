from __future__ import annotations

import pytest

from tongban.catalog import guide
from tongban.catalog.errors import BundleNotFound, ItemNotFound
from tongban.catalog.selectors import (
    bundle_definition,
    bundle_detail,
    bundle_list,
    element_definitions,
    item_definition,
    item_detail,
    item_list,
    item_popular,
)
from tongban.catalog.services import catalog_load_directory

pytestmark = pytest.mark.usefixtures("loaded")


def test_versions_are_parsed_once(django_assert_num_queries):
    first = item_definition("birth_registration", version=1)
    # A cached version costs one look-up of its hash, not a parse of its content.
    with django_assert_num_queries(1):
        again = item_definition("birth_registration", version=1)
    assert again is first
    assert item_definition("birth_registration") is first


def test_current_definitions_and_details():
    bundle = bundle_definition("birth")
    assert [b.item for b in bundle.items][:2] == ["birth_registration", "vaccination_certificate"]
    detail = item_detail("seal_engraving")
    assert (detail.department_name, detail.version, detail.latest_version) == ("市公安局", 1, 1)
    assert bundle_detail("enterprise_opening").lead_department_name == "市市场监督管理局"
    with pytest.raises(BundleNotFound):
        bundle_definition("nope")
    with pytest.raises(ItemNotFound):
        item_detail("nope")


def test_element_definitions_leave_out_unknown_codes():
    elements = element_definitions(["child.sex", "applicant.name", "no.such"])
    assert sorted(elements) == ["applicant.name", "child.sex"]
    assert elements["applicant.name"].prefill[0].field == "name"


def test_lists():
    assert [b.code for b in bundle_list()] == ["birth", "enterprise_opening"]
    assert [b.code for b in bundle_list(subject="enterprise")] == ["enterprise_opening"]
    births = bundle_list()[0]
    assert births.item_names == (
        "出生登记",
        "预防接种证办理",
        "城乡居民医保参保登记",
        "社会保障卡申领",
    )
    assert [i.code for i in item_list(department="tax")] == ["invoice_application"]
    # Items two bundles share would come first; here each is in one, so by code.
    assert [i.code for i in item_popular(limit=3)] == [
        "birth_registration",
        "enterprise_establishment",
        "invoice_application",
    ]


def test_evidence_providers_register_once():
    class Nothing:
        def spares(self, *, waiver, material, applicant):
            return None

    provider = Nothing()
    before = len(guide.evidence_providers())
    try:
        guide.register_evidence_provider(provider)
        guide.register_evidence_provider(provider)
        assert len(guide.evidence_providers()) == before + 1
    finally:
        guide._providers.remove(provider)


def test_admin_is_read_only(admin_client):
    assert admin_client.get("/admin/catalog/serviceitem/").status_code == 200
    assert admin_client.get("/admin/catalog/definitionversion/").status_code == 200
    assert admin_client.get("/admin/catalog/serviceitem/add/").status_code == 403


def test_a_process_rechecks_the_catalog_only_after_the_refresh_interval(
    db, settings, catalog_dir, django_assert_num_queries
):
    from tongban.catalog.models import CatalogRevision
    from tongban.catalog.selectors import bundle_list, catalog_cache_clear

    settings.TONGBAN_CATALOG_REFRESH_SECONDS = 3600
    catalog_load_directory(path=catalog_dir)
    assert [b.code for b in bundle_list()] == ["birth", "enterprise_opening"]
    with django_assert_num_queries(0):
        bundle_list()

    # Another process deactivates a bundle: this one keeps its snapshot until the interval ends.
    from tongban.catalog.models import Bundle

    Bundle.objects.filter(code="birth").update(is_active=False)
    CatalogRevision.objects.update(token="changed-elsewhere")
    assert [b.code for b in bundle_list()] == ["birth", "enterprise_opening"]

    settings.TONGBAN_CATALOG_REFRESH_SECONDS = 0
    assert [b.code for b in bundle_list()] == ["enterprise_opening"]
    catalog_cache_clear()


def test_a_load_in_this_process_is_seen_at_once(db, settings, catalog_dir):
    from tongban.catalog.selectors import bundle_list

    settings.TONGBAN_CATALOG_REFRESH_SECONDS = 3600
    catalog_load_directory(path=catalog_dir)
    assert len(bundle_list()) == 2
    (catalog_dir / "bundles/enterprise_opening.yaml").unlink()
    catalog_load_directory(path=catalog_dir)
    assert [b.code for b in bundle_list()] == ["birth"]
