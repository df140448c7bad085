from django.urls import path

from tongban.certificates import views

app_name = "certificates"
urlpatterns = [
    path(".well-known/tongban/trust-list", views.trust_list_view, name="trust_list"),
    path(".well-known/tongban/root-key", views.root_key_view, name="root_key"),
    path(".well-known/tongban/status/<int:list_id>", views.status_list_view, name="status_list"),
    path("certificates/verify/", views.verify_page, name="verify"),
]
