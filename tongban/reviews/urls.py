"""Public and resident pages of 好差评."""

from django.urls import path

from tongban.reviews import views

app_name = "reviews"
urlpatterns = [
    path("reviews/", views.stats_view, name="stats"),
    path("reviews/rate/<str:receipt_no>/", views.rate_view, name="rate"),
    path("me/reviews/", views.mine_view, name="mine"),
    path("me/reviews/<int:rating_id>/verdict/", views.verdict_view, name="verdict"),
]
