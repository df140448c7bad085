"""Public and resident pages of the hall as a service (mounted at /); each part's own list."""

from tongban.appointments import urls_booking, urls_halls, urls_kiosk, urls_queue, urls_waitlist

app_name = "appointments"
urlpatterns = [
    *urls_halls.urlpatterns,
    *urls_booking.urlpatterns,
    *urls_queue.urlpatterns,
    *urls_waitlist.urlpatterns,
    *urls_kiosk.urlpatterns,
]
