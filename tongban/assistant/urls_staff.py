"""窗口智能辅助: the guides answer staff at the counter and in the workbench."""

from django.urls import path

from tongban.assistant import views

app_name = "assistant_staff"
urlpatterns = [
    path("assistant/", views.staff_assist_view, name="assist"),
]
