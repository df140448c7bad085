"""The OIDC validator: which clients may ask for what, and which 一人一档 fields they receive."""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from tongban.accounts.selectors import resident_profile_of
from tongban.connect.selectors import client_of
from tongban.connect.services import personal_data_release_record

# Claims that stay out of the ID token: it travels through the browser and into the
# relying party's logs, so the ID number and phone are given only from userinfo, over the
# back channel, to the token holder.
_USERINFO_ONLY = frozenset({"id_number", "phone_number"})


class TongbanValidator(OAuth2Validator):
    # Each claim needs its scope; the scopes a client may request are the city's decision
    # (tongban.connect.scopes.ClientScopes), so an unlisted claim is never released.
    oidc_claim_scope = {
        "sub": "openid",
        "name": "profile",
        "phone_number": "phone",
        "id_number": "id_number",
    }

    def _load_application(self, client_id, request):
        # A disabled or unregistered client is unknown to every endpoint: no login, no token,
        # no refresh.
        application = super()._load_application(client_id, request)
        if application is None:
            return None
        client = client_of(application)
        if client is None or not client.is_active:
            request.client = None
            return None
        return application

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if client is None:
            return False
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    # prompt=none: the authorization view only runs for a logged-in person (DOT answers
    # login_required otherwise), and it answers consent_required itself when the person's
    # remembered consent does not cover the request (tongban.connect.views.AuthorizeView).
    def validate_silent_login(self, request):
        return True

    def validate_silent_authorization(self, request):
        return True

    def get_additional_claims(self, request):
        # Callables: DOT evaluates only the claims the granted scopes release.
        profile = resident_profile_of(request.user)
        if profile is None:
            return {
                "name": lambda r: r.user.display_name or None,
                "phone_number": lambda r: None,
                "id_number": lambda r: None,
            }
        return {
            "name": lambda r: profile.name,
            "phone_number": lambda r: profile.phone or None,
            "id_number": lambda r: profile.id_number,
        }

    def get_oidc_claims(self, token, token_handler, request):
        claims = super().get_oidc_claims(token, token_handler, request)
        for_id_token = getattr(request, "_tongban_id_token", False)
        released = {
            key: value
            for key, value in claims.items()
            if value is not None and not (for_id_token and key in _USERINFO_ONLY)
        }
        client = client_of(request.client)
        if client is not None and request.user is not None:
            personal_data_release_record(
                client=client,
                user=request.user,
                claims=[k for k in released if k != "sub"],
                channel="id_token" if for_id_token else "userinfo",
            )
        return released

    def get_id_token_dictionary(self, token, token_handler, request):
        request._tongban_id_token = True
        try:
            return super().get_id_token_dictionary(token, token_handler, request)
        finally:
            request._tongban_id_token = False
