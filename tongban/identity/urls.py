from django.urls import path

from tongban.identity import views

app_name = "identity"
urlpatterns = [
    path("register/", views.register_view, name="register"),
    path("register/code/", views.register_code_view, name="register_code"),
    path("reset/", views.reset_view, name="reset"),
    path("reset/code/", views.reset_code_view, name="reset_code"),
    path("verify/", views.verify_view, name="verify"),
    path("verify/code/", views.verify_code_view, name="verify_code"),
    path("demo-sms/", views.demo_sms_view, name="demo_sms"),
]
