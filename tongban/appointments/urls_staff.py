"""Staff pages of the hall as a service (mounted at /staff/); each part's own list."""

from tongban.appointments import urls_booking, urls_halls, urls_kiosk, urls_queue, urls_waitlist

app_name = "appointments_staff"
urlpatterns = [
    *urls_halls.staff_urlpatterns,
    *urls_booking.staff_urlpatterns,
    *urls_queue.staff_urlpatterns,
    *urls_waitlist.staff_urlpatterns,
    *urls_kiosk.staff_urlpatterns,
]
