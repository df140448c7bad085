from django.urls import path

from tongban.delegation import views

app_name = "delegation"
urlpatterns = [
    path("me/delegations/", views.mine_view, name="mine"),
    path("me/delegations/grant/", views.grant_view, name="grant"),
    path("me/delegations/<int:delegation_id>/revoke/", views.revoke_view, name="revoke"),
    path("me/delegations/<int:delegation_id>/accept/", views.accept_view, name="accept"),
    path("me/delegations/<int:delegation_id>/decline/", views.decline_view, name="decline"),
    path("me/acting-for/<int:delegation_id>/", views.acting_view, name="acting"),
    path("staff/delegations/", views.counter_view, name="counter"),
]
