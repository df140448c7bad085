"""URLs of 取号叫号与综合窗口: `urlpatterns` (public and resident pages, mounted at /) and
`staff_urlpatterns` (mounted at /staff/)."""

from django.urls import path

from tongban.appointments.views import queue as views

urlpatterns: list = [
    path("halls/<str:code>/display/", views.queue_display_view, name="queue_display"),
    path("me/tickets/", views.queue_mine_view, name="queue_mine"),
]
staff_urlpatterns: list = [
    path("queue/", views.queue_call_view, name="queue_call"),
    path("queue/reception/", views.queue_reception_view, name="queue_reception"),
]
