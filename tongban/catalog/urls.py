from django.urls import path

from tongban.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("search/", views.search_view, name="search"),
    # The address people type and other sites link to is /search?q=…; no redirect hop.
    path("search", views.search_view),
    path("items/<str:code>/", views.item_view, name="item"),
    path("bundles/<str:code>/", views.bundle_view, name="bundle"),
    # One question per screen (长者版).
    path("items/<str:code>/steps/", views.item_steps_view, name="item_steps"),
    path("bundles/<str:code>/steps/", views.bundle_steps_view, name="bundle_steps"),
]
