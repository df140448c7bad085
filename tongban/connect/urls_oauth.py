"""The OAuth 2.0 / OpenID Connect endpoints, under DOT's own URL names (namespace
oauth2_provider): the library reverses them itself for the discovery document and issuer.

The issuer is the site's origin, so discovery is at /.well-known/openid-configuration as
OIDC clients expect; the protocol endpoints live under /oauth/. Authorization and logout are
ours (remembered consent, registration checks, Chinese pages); the rest is the library's.
"""

from django.urls import path, re_path
from oauth2_provider import views as oauth_views

from tongban.connect import views

app_name = "oauth2_provider"
urlpatterns = [
    re_path(
        r"^\.well-known/openid-configuration$",
        oauth_views.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path("oauth/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("oauth/token/", oauth_views.TokenView.as_view(), name="token"),
    path("oauth/revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("oauth/introspect/", oauth_views.IntrospectTokenView.as_view(), name="introspect"),
    path("oauth/userinfo/", oauth_views.UserInfoView.as_view(), name="user-info"),
    path("oauth/logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
    path("oauth/jwks/", oauth_views.JwksInfoView.as_view(), name="jwks-info"),
]
