"""Staff pages of 在线客服, under /staff/."""

from django.urls import path

from tongban.helpdesk import views

app_name = "helpdesk_staff"
urlpatterns = [
    path("helpdesk/", views.staff_home_view, name="home"),
    path("helpdesk/queue/", views.staff_queue_fragment_view, name="queue"),
    path("helpdesk/<int:conversation_id>/", views.staff_chat_view, name="chat"),
    path("helpdesk/<int:conversation_id>/poll/", views.staff_poll_view, name="poll"),
    path("helpdesk/<int:conversation_id>/draft/", views.staff_draft_view, name="draft"),
    path("helpdesk/<int:conversation_id>/claim/", views.staff_claim_view, name="claim"),
    path("helpdesk/<int:conversation_id>/say/", views.staff_say_view, name="say"),
    path("helpdesk/<int:conversation_id>/close/", views.staff_close_view, name="close"),
    path("helpdesk/<int:conversation_id>/answer/", views.staff_answer_view, name="answer"),
]
