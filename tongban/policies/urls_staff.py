"""Staff pages of 政策找人: figures and reviews of lost eligibility."""

from django.urls import path

from tongban.policies import views

app_name = "policies_staff"
urlpatterns = [
    path("policies/", views.staff_policies_view, name="policies"),
    path("policies/reviews/<int:review_id>/", views.staff_review_decide_view, name="decide"),
    path("policies/<str:code>/", views.staff_policy_view, name="policy"),
]
