from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tongban.api import api

admin.site.site_header = "通办 · 后台管理"
admin.site.site_title = "通办后台"

urlpatterns = [
    # Browsers and crawlers ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url="/static/portal/favicon.svg", permanent=True)),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("accounts/", include("tongban.accounts.urls")),
    path("accounts/", include("tongban.identity.urls")),
    path("accounts/passkeys/", include("tongban.passkeys.urls")),
    path("", include("tongban.delegation.urls")),
    path("", include("tongban.connect.urls")),
    # OAuth 2.0 / OpenID Connect (namespace oauth2_provider): /oauth/… and the discovery doc.
    path("", include("tongban.connect.urls_oauth")),
    path("", include("tongban.catalog.urls")),
    path("", include("tongban.notifications.urls")),
    path("", include("tongban.cases.urls")),
    path("", include("tongban.certificates.urls")),
    path("", include("tongban.idcode.urls")),
    path("", include("tongban.policies.urls")),
    path("", include("tongban.reviews.urls")),
    path("", include("tongban.commitment_checks.urls")),
    path("", include("tongban.consents.urls")),  # 授权数据使用
    path("", include("tongban.appointments.urls")),  # 大厅、预约、叫号、轮候、自助
    path("", include("tongban.assistant.urls")),  # 智能客服
    path("", include("tongban.helpdesk.urls")),  # 在线客服
    path("", include("tongban.metrics.urls")),  # 公开指标
    path("", include("tongban.opendata.urls")),  # 开放数据
    path("staff/", include("tongban.cases.urls_staff")),
    path("staff/", include("tongban.reviews.urls_staff")),
    path("staff/", include("tongban.policies.urls_staff")),
    path("staff/", include("tongban.commitment_checks.urls_staff")),
    path("staff/", include("tongban.assistance.urls")),  # 行政协助
    path("staff/", include("tongban.helpdesk.urls_staff")),  # 在线客服
    path("staff/", include("tongban.appointments.urls_staff")),
    path("staff/", include("tongban.assistant.urls_staff")),  # 窗口智能辅助
    path("staff/", include("tongban.metrics.urls_staff")),  # 服务指标
    path("", include("tongban.portal.urls")),
]

handler400 = "tongban.errorpages.bad_request"
handler403 = "tongban.errorpages.permission_denied"
handler404 = "tongban.errorpages.not_found"
handler500 = "tongban.errorpages.server_error"
