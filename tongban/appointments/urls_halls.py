"""URLs of halls, windows, service points and venues: `urlpatterns` (public and resident
pages, mounted at /) and `staff_urlpatterns` (mounted at /staff/)."""

urlpatterns: list = []
staff_urlpatterns: list = []
