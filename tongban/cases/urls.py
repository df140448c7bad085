"""Pages for applicants: the one form (一表申请), 我的办件, supplements."""

from django.urls import path

from tongban.cases import views

app_name = "cases"
urlpatterns = [
    path("apply/<str:kind>/<str:code>/", views.apply_view, name="apply"),
    path("me/cases/", views.my_cases_view, name="my_cases"),
    path("me/cases/<str:receipt_no>/", views.case_view, name="case"),
    path("me/cases/<str:receipt_no>/supplement/", views.supplement_view, name="supplement"),
    path(
        "me/cases/<str:receipt_no>/deferred/<str:material_code>/",
        views.deferred_view,
        name="deferred",
    ),
]
