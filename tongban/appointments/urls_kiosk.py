"""URLs of 24小时自助终端: `urlpatterns` (public and resident pages, mounted at /) and
`staff_urlpatterns` (mounted at /staff/)."""

urlpatterns: list = []
staff_urlpatterns: list = []
