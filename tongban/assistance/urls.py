"""Staff pages of 行政协助, under /staff/."""

from django.urls import path

from tongban.assistance import views

app_name = "assistance_staff"
urlpatterns = [
    path("assistance/", views.inbox_view, name="inbox"),
    path("assistance/tasks/<int:task_id>/new/", views.request_view, name="request"),
    path("assistance/<int:request_id>/", views.detail_view, name="detail"),
    path("assistance/<int:request_id>/answer/", views.answer_view, name="answer"),
    path("assistance/<int:request_id>/withdraw/", views.withdraw_view, name="withdraw"),
    path("assistance/<int:request_id>/file/", views.file_view, name="file"),
]
