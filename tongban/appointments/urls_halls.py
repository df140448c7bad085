"""URLs of halls, windows, service points and venues: `urlpatterns` (public and resident
pages, mounted at /) and `staff_urlpatterns` (mounted at /staff/)."""

from django.urls import path

from tongban.appointments.views import halls as views

urlpatterns: list = [
    path("halls/", views.finder_view, name="halls_finder"),
    path("halls/<str:code>/", views.detail_view, name="halls_detail"),
]
staff_urlpatterns: list = [
    path("halls/figures/", views.staff_figures_view, name="halls_figures"),
]
