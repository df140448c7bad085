"""Pages for staff: intake (受理), the department workbench (一网办理), the counter (综合窗口)."""

from django.urls import path

from tongban.cases import views_staff as views

app_name = "cases_staff"
urlpatterns = [
    path("intake/", views.intake_queue_view, name="intake_queue"),
    path("intake/<str:receipt_no>/", views.intake_case_view, name="intake_case"),
    path(
        "intake/<str:receipt_no>/materials/<int:submission_id>/",
        views.intake_material_view,
        name="intake_material",
    ),
    path("intake/<str:receipt_no>/accept/", views.intake_accept_view, name="intake_accept"),
    path("intake/<str:receipt_no>/refuse/", views.intake_refuse_view, name="intake_refuse"),
    path(
        "intake/<str:receipt_no>/supplement/",
        views.intake_supplement_view,
        name="intake_supplement",
    ),
    path("tasks/", views.tasks_view, name="tasks"),
    path("tasks/<int:task_id>/", views.task_view, name="task"),
    path("tasks/<int:task_id>/claim/", views.task_claim_view, name="task_claim"),
    path(
        "tasks/<int:task_id>/materials/<int:submission_id>/",
        views.task_material_view,
        name="task_material",
    ),
    path("tasks/<int:task_id>/decide/", views.task_decide_view, name="task_decide"),
    path("tasks/<int:task_id>/supplement/", views.task_supplement_view, name="task_supplement"),
    path("handout/", views.handout_queue_view, name="handout_queue"),
    path("handout/<str:receipt_no>/", views.handout_case_view, name="handout_case"),
    path("counter/", views.counter_view, name="counter"),
    path(
        "counter/supplement/<str:receipt_no>/",
        views.counter_supplement_view,
        name="counter_supplement",
    ),
    path("counter/apply/<str:kind>/<str:code>/", views.counter_apply_view, name="counter_apply"),
]
