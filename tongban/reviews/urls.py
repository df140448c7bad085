"""Public and resident pages of 好差评 and 投诉建议."""

from django.urls import path

from tongban.reviews import views

app_name = "reviews"
urlpatterns = [
    path("reviews/", views.stats_view, name="stats"),
    path("reviews/rate/<str:receipt_no>/", views.rate_view, name="rate"),
    path("me/reviews/", views.mine_view, name="mine"),
    path("me/reviews/<int:rating_id>/verdict/", views.verdict_view, name="verdict"),
    path("complaints/new/", views.complaint_new_view, name="complaint_new"),
    path("me/complaints/", views.my_complaints_view, name="complaints"),
    path("me/complaints/<int:complaint_id>/", views.my_complaint_view, name="complaint"),
    path(
        "me/complaints/<int:complaint_id>/verdict/",
        views.complaint_verdict_view,
        name="complaint_verdict",
    ),
]
