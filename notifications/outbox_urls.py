from django.urls import path

from notifications import outbox_views

app_name = "outbox"

urlpatterns = [
    path("dead-letters/", outbox_views.dead_letter_list, name="dead_letters"),
    path("dead-letters/<int:pk>/retry/", outbox_views.dead_letter_retry, name="retry"),
    path("dead-letters/<int:pk>/dismiss/", outbox_views.dead_letter_dismiss, name="dismiss"),
]
