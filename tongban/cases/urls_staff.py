"""Pages for staff: intake (受理), the department workbench (一网办理), the counter (综合窗口)."""

app_name = "cases_staff"
urlpatterns: list = []
