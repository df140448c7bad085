from django.urls import path

from tongban.consents import views

app_name = "consents"
urlpatterns = [
    path("me/consents/", views.consents_view, name="mine"),
    path("me/consents/new/", views.consent_new_view, name="new"),
    path("me/consents/<int:consent_id>/revoke/", views.consent_revoke_view, name="revoke"),
    path(
        "enterprise/<int:enterprise_id>/consents/",
        views.consents_view,
        name="enterprise",
    ),
    path(
        "enterprise/<int:enterprise_id>/consents/new/",
        views.consent_new_view,
        name="enterprise_new",
    ),
    path(
        "enterprise/<int:enterprise_id>/consents/<int:consent_id>/revoke/",
        views.consent_revoke_view,
        name="enterprise_revoke",
    ),
]
