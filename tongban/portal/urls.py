from django.urls import path

from tongban.portal import views

# "/" (the public home page) is the catalog's; these are the personal pages around it.
app_name = "portal"
urlpatterns = [
    path("me/", views.me_view, name="me"),
    path("me/data-access/", views.data_access_view, name="data_access"),
    path("enterprise/", views.enterprise_view, name="enterprise"),
    path("staff/", views.staff_view, name="staff"),
    path("elder-mode/", views.elder_mode_view, name="elder_mode"),
]
