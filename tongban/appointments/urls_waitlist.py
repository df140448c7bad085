"""URLs of 轮候: `urlpatterns` (public and resident pages, mounted at /) and
`staff_urlpatterns` (mounted at /staff/)."""

from django.urls import path

from tongban.appointments.views import waitlist as views

urlpatterns: list = [
    path("me/waiting-lists/", views.waitlist_mine_view, name="waitlist_mine"),
    path(
        "me/waiting-lists/<int:entry_id>/withdraw/",
        views.waitlist_withdraw_view,
        name="waitlist_withdraw",
    ),
    path(
        "me/waiting-offers/<int:offer_id>/accept/",
        views.waitlist_offer_accept_view,
        name="waitlist_offer_accept",
    ),
    path(
        "me/waiting-offers/<int:offer_id>/decline/",
        views.waitlist_offer_decline_view,
        name="waitlist_offer_decline",
    ),
]
staff_urlpatterns: list = [
    path("waiting-lists/", views.waitlist_staff_index_view, name="waitlist_staff"),
    path("waiting-lists/<str:code>/", views.waitlist_staff_list_view, name="waitlist_staff_list"),
    path(
        "waiting-lists/<str:code>/places/",
        views.waitlist_place_add_view,
        name="waitlist_place_add",
    ),
    path(
        "waiting-places/<int:place_id>/free/",
        views.waitlist_place_free_view,
        name="waitlist_place_free",
    ),
    path(
        "waiting-places/<int:place_id>/close/",
        views.waitlist_place_close_view,
        name="waitlist_place_close",
    ),
    path(
        "waiting-places/<int:place_id>/reopen/",
        views.waitlist_place_reopen_view,
        name="waitlist_place_reopen",
    ),
]
