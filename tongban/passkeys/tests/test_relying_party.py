import pytest

from tongban.passkeys.errors import PasskeyUnavailableHere
from tongban.passkeys.relying_party import RelyingParty, relying_party_for


def test_derived_from_the_host_when_not_configured(settings):
    settings.TONGBAN_WEBAUTHN_RP_ID = ""
    assert relying_party_for(host="localhost:8000", secure=False) == RelyingParty(
        id="localhost", name="一网通办", origins=("http://localhost:8000",)
    )
    assert relying_party_for(host="zwdt.example.cn", secure=True).origins == (
        "https://zwdt.example.cn",
    )


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "[::1]:8000", "10.0.0.5", ""])
def test_an_ip_address_cannot_be_a_relying_party(settings, host):
    settings.TONGBAN_WEBAUTHN_RP_ID = ""
    with pytest.raises(PasskeyUnavailableHere):
        relying_party_for(host=host, secure=False)


def test_configured_id_and_origins_win_over_the_host(settings):
    settings.TONGBAN_WEBAUTHN_RP_ID = "example.gov.cn"
    settings.TONGBAN_WEBAUTHN_ORIGINS = ["https://zwdt.example.gov.cn", "https://m.example.gov.cn"]
    rp = relying_party_for(host="zwdt.example.gov.cn", secure=True)
    assert (rp.id, rp.origins) == (
        "example.gov.cn",
        ("https://zwdt.example.gov.cn", "https://m.example.gov.cn"),
    )
    settings.TONGBAN_WEBAUTHN_ORIGINS = []
    assert relying_party_for(host="example.gov.cn", secure=True).origins == (
        "https://example.gov.cn",
    )


@pytest.mark.parametrize("host", ["evil.example", "notexample.gov.cn", "example.gov.cn.evil.io"])
def test_a_host_outside_the_configured_id_is_refused(settings, host):
    settings.TONGBAN_WEBAUTHN_RP_ID = "example.gov.cn"
    with pytest.raises(PasskeyUnavailableHere):
        relying_party_for(host=host, secure=True)
