from django.urls import path

from tongban.idcode import views

app_name = "idcode"
urlpatterns = [
    path("me/idcode/", views.my_idcode_page, name="mine"),
    path("enterprise/<int:enterprise_id>/idcode/", views.enterprise_idcode_page, name="enterprise"),
]
