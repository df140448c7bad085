"""智能客服 pages."""

from django.urls import path

from tongban.assistant import views

app_name = "assistant"
urlpatterns = [
    path("assistant/", views.chat_view, name="chat"),
    path("assistant/<int:conversation_id>/handoff/", views.handoff_view, name="handoff"),
]
