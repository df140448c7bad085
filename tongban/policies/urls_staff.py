"""Staff pages of 政策找人: figures and reviews of lost eligibility."""

from django.urls import path

from tongban.policies import views

app_name = "policies_staff"
urlpatterns = [
    path("policies/", views.staff_policies_view, name="policies"),
    path("policies/reviews/<int:review_id>/", views.staff_review_decide_view, name="decide"),
    path("policies/<str:code>/", views.staff_policy_view, name="policy"),
    path("policies/<str:code>/whatif/", views.staff_whatif_view, name="whatif"),
    path("policies/<str:code>/payments/", views.staff_payments_view, name="payments"),
    path(
        "policies/<str:code>/payments/<str:number>.csv",
        views.staff_payment_file_view,
        name="payment_file",
    ),
    path("policies/<str:code>/funds/<str:round_code>/", views.staff_fund_view, name="fund_round"),
    path(
        "policies/<str:code>/funds/<str:round_code>/<str:action>/",
        views.staff_fund_action_view,
        name="fund_action",
    ),
    path(
        "policies/<str:code>/funds/<str:round_code>/<str:action>/<int:target>/",
        views.staff_fund_action_view,
        name="fund_action_on",
    ),
]
