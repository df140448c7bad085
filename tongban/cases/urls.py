"""Pages for applicants: the one form (一表申请), 我的办件, supplements."""

app_name = "cases"
urlpatterns: list = []
