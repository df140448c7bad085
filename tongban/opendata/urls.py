from django.urls import path

from tongban.opendata import views

app_name = "opendata"
urlpatterns = [
    path("opendata/", views.catalogue_view, name="catalogue"),
    # Before the dataset pages, so "developers" is never read as a dataset's id.
    path("opendata/developers/", views.developer_view, name="developer"),
    path("opendata/developers/keys/new/", views.key_create_view, name="key_create"),
    path("opendata/developers/keys/<int:key_id>/revoke/", views.key_revoke_view, name="key_revoke"),
    path("opendata/developers/usage/", views.usage_view, name="usage"),
    # The stable download addresses: /opendata/<id>.csv and /opendata/<id>.json.
    path("opendata/<slug:dataset_id>.csv", views.download_view, {"fmt": "csv"}, name="csv"),
    path("opendata/<slug:dataset_id>.json", views.download_view, {"fmt": "json"}, name="json"),
    path("opendata/<slug:dataset_id>/", views.dataset_view, name="dataset"),
]
