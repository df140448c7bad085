"""URLs of 统一预约: `urlpatterns` (public and resident pages, mounted at /) and
`staff_urlpatterns` (mounted at /staff/)."""

from django.urls import path

from tongban.appointments.views import booking as views

urlpatterns: list = [
    path("bookings/new/", views.booking_start_view, name="booking_start"),
    path("me/bookings/", views.booking_mine_view, name="booking_mine"),
    path("me/bookings/<str:reference>/", views.booking_detail_view, name="booking_detail"),
    path("venues/", views.booking_venues_view, name="booking_venues"),
    path("venues/<str:code>/", views.booking_venue_view, name="booking_venue"),
]
staff_urlpatterns: list = [
    path("bookings/", views.booking_staff_view, name="booking_staff"),
    path("bookings/rules/", views.booking_rules_view, name="booking_rules"),
    path("bookings/rules/new/", views.booking_rule_new_view, name="booking_rule_new"),
    path("bookings/rules/<int:rule_id>/", views.booking_rule_edit_view, name="booking_rule_edit"),
]
