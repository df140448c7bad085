"""服务指标 for the city's operators and department leads (/staff/metrics/)."""

from django.urls import path

from tongban.metrics import views

app_name = "metrics_staff"
urlpatterns = [
    path("metrics/", views.staff_metrics_view, name="dashboard"),
    path(
        "metrics/export.csv",
        views.staff_metrics_export_view,
        {"extension": "csv"},
        name="export_csv",
    ),
    path(
        "metrics/export.xlsx",
        views.staff_metrics_export_view,
        {"extension": "xlsx"},
        name="export_xlsx",
    ),
]
