"""Scopes: what a site or app may receive or do, in the words the consent page shows.

Imported by settings (the SCOPES table), so nothing here imports models at module level.
"""

from __future__ import annotations

# OIDC scopes release 一人一档 fields; API scopes open /api/v1/ operations. The wording is
# what the resident reads on the consent page, so it says what the site gets, plainly.
SCOPES: dict[str, str] = {
    "openid": "确认是您本人登录（平台为该网站生成的账户标识）",
    "profile": "您的姓名",
    "phone": "您的手机号码",
    "id_number": "您的身份证号码",
    "me": "查看您的办件、电子证照、消息和随申码",
    "cases": "以您的名义办事：提交申请、补正材料、评价服务等",
    "workbench": "以部门岗位身份查看和办理本部门的任务",
    # A registered institution (tongban.consents) reading what a holder consented to.
    "consented_data": "经数据主体授权，查询其同意提供的数据（授权使用机构）",
}

# The ID number goes only to a client the city registered with a legal basis for it.
LEGAL_BASIS_SCOPES = frozenset({"id_number"})
# Acting as staff is for a department system's own service account, never for a login.
SERVICE_SCOPES = frozenset({"workbench"})
# Only an institution's own client (registered by tongban.consents) carries this one.
INSTITUTION_SCOPES = frozenset({"consented_data"})
# What a resident's login can carry.
RESIDENT_SCOPES = frozenset(SCOPES) - SERVICE_SCOPES - INSTITUTION_SCOPES


def pkce_required(client_id: str) -> bool:
    """PKCE for every public client (a phone app cannot keep a secret, so the code verifier
    is what binds the code to it); a confidential client also authenticates with its
    secret and may use PKCE as well."""
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    client_type = (
        Application.objects.filter(client_id=client_id)
        .values_list("client_type", flat=True)
        .first()
    )
    return client_type != Application.CLIENT_CONFIDENTIAL


class ClientScopes:
    """django-oauth-toolkit scopes backend: a client may ask only for the scopes the city
    registered it with, so a request for anything else is refused (invalid_scope)."""

    def get_all_scopes(self):
        return SCOPES

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            # Only the discovery document asks without a client: it lists every scope.
            # Requests always name their client (TongbanValidator.validate_scopes).
            return list(SCOPES)
        from tongban.connect.selectors import allowed_scopes_of

        return sorted(allowed_scopes_of(application))

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        available = self.get_available_scopes(application, request)
        return ["openid"] if "openid" in available else available
