"""公开指标 (/figures/)."""

from django.urls import path

from tongban.metrics import views

app_name = "metrics"
urlpatterns = [path("figures/", views.public_figures_view, name="figures")]
