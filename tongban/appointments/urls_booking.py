"""URLs of 统一预约: `urlpatterns` (public and resident pages, mounted at /) and
`staff_urlpatterns` (mounted at /staff/)."""

urlpatterns: list = []
staff_urlpatterns: list = []
