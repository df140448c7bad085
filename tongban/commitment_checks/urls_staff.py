"""Staff pages of 告知承诺事后核查 (under /staff/)."""

from django.urls import path

from tongban.commitment_checks import views

app_name = "commitment_checks_staff"
urlpatterns = [
    path("commitment-checks/", views.staff_checks_view, name="checks"),
    path("commitment-checks/<int:check_id>/", views.staff_check_view, name="check"),
    path(
        "commitment-checks/<int:check_id>/decision/",
        views.staff_check_decide_view,
        name="decide",
    ),
    path(
        "commitment-checks/<int:check_id>/revoke/",
        views.staff_followup_revoke_view,
        name="revoke",
    ),
]
