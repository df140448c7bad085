"""Staff pages of 好差评: work orders (整改工单), appeals (申诉复核), and 投诉建议 (recording
forwarded ones, the triage queue); complaint orders share the work-order pages."""

from django.urls import path

from tongban.reviews import views

app_name = "reviews_staff"
urlpatterns = [
    path("reviews/", views.staff_orders_view, name="orders"),
    path("reviews/orders/<int:order_id>/", views.staff_order_view, name="order"),
    path(
        "reviews/orders/<int:order_id>/<str:action>/",
        views.staff_order_action_view,
        name="order_action",
    ),
    path(
        "reviews/appeals/<int:appeal_id>/decision/",
        views.staff_appeal_decide_view,
        name="appeal_decide",
    ),
    path("complaints/", views.staff_complaints_view, name="complaints"),
    path("complaints/new/", views.staff_complaint_new_view, name="complaint_new"),
    path(
        "complaints/<int:complaint_id>/assign/",
        views.staff_complaint_assign_view,
        name="complaint_assign",
    ),
]
