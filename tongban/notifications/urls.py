from django.urls import path

from tongban.notifications import views

app_name = "notifications"
urlpatterns = [
    path("me/notices/", views.notices_view, name="notices"),
    path("me/notices/read-all/", views.notices_read_all_view, name="notices_read_all"),
    path("me/notices/preferences/", views.preferences_view, name="preferences"),
    path("me/notices/<int:notice_id>/read/", views.notice_read_view, name="notice_read"),
]
