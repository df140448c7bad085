from django.urls import path

from tongban.certificates import views

app_name = "certificates"
urlpatterns = [
    path(".well-known/tongban/trust-list", views.trust_list_view, name="trust_list"),
    path(".well-known/tongban/root-key", views.root_key_view, name="root_key"),
    path(".well-known/tongban/status/<int:list_id>", views.status_list_view, name="status_list"),
    path("certificates/verify/", views.verify_page, name="verify"),
    path("me/certificates/", views.wallet_view, name="wallet"),
    path("me/certificates/<int:pk>/", views.wallet_certificate_view, name="wallet_certificate"),
    path("me/certificates/<int:pk>/pdf", views.wallet_certificate_pdf, name="wallet_pdf"),
    path("me/certificates/<int:pk>/share", views.wallet_share_view, name="wallet_share"),
]
