from django.urls import path

from tongban.connect import views

app_name = "connect"
urlpatterns = [
    path("me/connected-sites/", views.consents_view, name="consents"),
    path(
        "me/connected-sites/<int:consent_id>/withdraw/",
        views.consent_withdraw_view,
        name="consent_withdraw",
    ),
    path("staff/connect/", views.clients_view, name="clients"),
    path("staff/connect/register/", views.client_register_view, name="client_register"),
    path("staff/connect/<int:client_pk>/", views.client_view, name="client"),
    path("staff/connect/<int:client_pk>/rotate/", views.client_rotate_view, name="client_rotate"),
    path(
        "staff/connect/<int:client_pk>/disable/", views.client_disable_view, name="client_disable"
    ),
]
