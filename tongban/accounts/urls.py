from django.urls import path

from tongban.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_code_view, name="login_code"),
    path("logout/", views.logout_view, name="logout"),
    path("2fa/setup/", views.totp_setup_view, name="totp_setup"),
    path("activate/", views.activate_view, name="activate"),
]
