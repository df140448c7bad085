from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "tongban.appointments"
    label = "appointments"
    verbose_name = "大厅与预约"
    default_auto_field = "django.db.models.BigAutoField"
