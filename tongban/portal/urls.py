from django.urls import path

from tongban.portal import agents, views

# "/" (the public home page) is the catalog's; these are the personal pages around it.
app_name = "portal"
urlpatterns = [
    path("me/", views.me_view, name="me"),
    path("me/data-access/", views.data_access_view, name="data_access"),
    path("enterprise/", views.enterprise_view, name="enterprise"),
    path(
        "enterprise/<int:enterprise_id>/data-access/",
        views.enterprise_data_access_view,
        name="enterprise_data_access",
    ),
    # 企业授权管理 (tongban.portal.agents)
    path("enterprise/<int:enterprise_id>/agents/", agents.agent_grant_view, name="agent_grant"),
    path(
        "enterprise/agents/<int:membership_id>/revoke/",
        agents.agent_revoke_view,
        name="agent_revoke",
    ),
    path(
        "enterprise/agents/<int:membership_id>/resign/",
        agents.authority_resign_view,
        name="agent_resign",
    ),
    path(
        "me/enterprise-invitations/<int:membership_id>/accept/",
        agents.invitation_accept_view,
        name="agent_invitation_accept",
    ),
    path(
        "me/enterprise-invitations/<int:membership_id>/decline/",
        agents.invitation_decline_view,
        name="agent_invitation_decline",
    ),
    path("staff/", views.staff_view, name="staff"),
    path("elder-mode/", views.elder_mode_view, name="elder_mode"),
]
