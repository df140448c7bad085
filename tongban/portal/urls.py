from django.urls import path

from tongban.portal import views

# "/" (the public home page) is the catalog's; these are the personal pages around it.
app_name = "portal"
urlpatterns = [
    path("me/", views.me_view, name="me"),
    path("enterprise/", views.enterprise_view, name="enterprise"),
    path("staff/", views.staff_view, name="staff"),
    path("elder-mode/", views.elder_mode_view, name="elder_mode"),
]
