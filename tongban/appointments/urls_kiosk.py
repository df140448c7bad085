"""URLs of 24小时自助终端: `urlpatterns` (the terminal's pages, mounted at /) and
`staff_urlpatterns` (enrolling a terminal, mounted at /staff/)."""

from django.urls import path

from tongban.appointments.views import kiosk as views

urlpatterns: list = [
    path("kiosk/", views.home_view, name="kiosk_home"),
    path("kiosk/login/", views.login_view, name="kiosk_login"),
    path("kiosk/logout/", views.logout_view, name="kiosk_logout"),
    path("kiosk/keepalive/", views.keepalive_view, name="kiosk_keepalive"),
    path("kiosk/ticket/", views.ticket_new_view, name="kiosk_ticket_new"),
    path("kiosk/tickets/<int:ticket_id>/", views.ticket_view, name="kiosk_ticket"),
    path("kiosk/check-in/", views.check_in_view, name="kiosk_check_in"),
    path("kiosk/services/", views.services_view, name="kiosk_services"),
    path("kiosk/services/<str:code>/", views.service_view, name="kiosk_service"),
    path("kiosk/print/", views.print_view, name="kiosk_print"),
    path("kiosk/print/cases/<str:receipt_no>/", views.print_case_view, name="kiosk_print_case"),
    path(
        "kiosk/print/certificates/<int:pk>/",
        views.print_certificate_view,
        name="kiosk_print_certificate",
    ),
]
staff_urlpatterns: list = [
    path("kiosks/", views.points_view, name="kiosk_points"),
    path("kiosks/<str:code>/enrol/", views.enrol_view, name="kiosk_enrol"),
]
