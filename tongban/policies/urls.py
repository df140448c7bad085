from django.urls import path

from tongban.policies import views

app_name = "policies"
urlpatterns = [
    path("policies/", views.policy_list_view, name="list"),
    path("policies/check/", views.check_view, name="check"),
    path("policies/<str:code>/", views.policy_view, name="detail"),
    path("policies/<str:code>/funds/<str:round_code>/", views.fund_round_view, name="fund_round"),
    path("me/policies/", views.my_policies_view, name="mine"),
    path("me/policies/<str:code>/decline/", views.decline_view, name="decline"),
    path(
        "enterprise/<int:enterprise_id>/policies/",
        views.enterprise_policies_view,
        name="enterprise",
    ),
    path(
        "enterprise/<int:enterprise_id>/policies/<str:code>/decline/",
        views.enterprise_decline_view,
        name="enterprise_decline",
    ),
]
