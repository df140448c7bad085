"""Pages of 在线客服 for residents and visitors."""

from django.urls import path

from tongban.helpdesk import views

app_name = "helpdesk"
urlpatterns = [
    path("helpdesk/", views.home_view, name="home"),
    path("helpdesk/new/", views.start_view, name="start"),
    path("helpdesk/<int:conversation_id>/", views.chat_view, name="chat"),
    path("helpdesk/<int:conversation_id>/poll/", views.poll_view, name="poll"),
    path("helpdesk/<int:conversation_id>/say/", views.say_view, name="say"),
    path("helpdesk/<int:conversation_id>/close/", views.close_view, name="close"),
    path("helpdesk/<int:conversation_id>/consent/", views.consent_view, name="consent"),
    path("helpdesk/<int:conversation_id>/rate/", views.rate_view, name="rate"),
]
