from django.urls import path

from approvals_channels import views

app_name = "approvals_channels"

urlpatterns = [
    path("links/<str:token>/", views.decide, name="decide"),
    path("me/notifications/", views.preferences_page, name="preferences"),
]
