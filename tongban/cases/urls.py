"""Pages for applicants: the one form (一表申请), 我的办件, supplements."""

from django.urls import path

from tongban.cases import views, views_apply

app_name = "cases"
urlpatterns = [
    # 一表申请, step by step: the task list, one page per step, 核对信息 (and the submit).
    path("apply/<str:kind>/<str:code>/", views_apply.apply_view, name="apply"),
    path("apply/<str:kind>/<str:code>/step/<slug:slug>/", views_apply.step_view, name="apply_step"),
    path("apply/<str:kind>/<str:code>/check/", views_apply.check_view, name="apply_check"),
    path("me/cases/<str:receipt_no>/submitted/", views_apply.submitted_view, name="submitted"),
    path("me/cases/", views.my_cases_view, name="my_cases"),
    path("me/cases/<str:receipt_no>/", views.case_view, name="case"),
    path("me/cases/<str:receipt_no>/supplement/", views.supplement_view, name="supplement"),
    path(
        "me/cases/<str:receipt_no>/deferred/<str:material_code>/",
        views.deferred_view,
        name="deferred",
    ),
]
