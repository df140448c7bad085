"""URLs of 取号叫号与综合窗口: `urlpatterns` (public and resident pages, mounted at /) and
`staff_urlpatterns` (mounted at /staff/)."""

urlpatterns: list = []
staff_urlpatterns: list = []
