"""The person's pages of 告知承诺事后核查: 我的信用记录."""

from django.urls import path

from tongban.commitment_checks import views

app_name = "commitment_checks"
urlpatterns = [
    path("me/credit/", views.my_credit_view, name="my_credit"),
]
