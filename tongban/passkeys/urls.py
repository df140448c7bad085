from django.urls import path

from tongban.passkeys import views

app_name = "passkeys"
urlpatterns = [
    path("", views.manage_view, name="manage"),
    path("register/options/", views.register_options_view, name="register_options"),
    path("register/", views.register_view, name="register"),
    path("<int:passkey_id>/remove/", views.remove_view, name="remove"),
    path("login/", views.login_view, name="login"),
    path("login/options/", views.login_options_view, name="login_options"),
    path("login/verify/", views.login_verify_view, name="login_verify"),
]
