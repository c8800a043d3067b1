"""The project's URLs plus the floor endpoint; only `bench.settings` uses this URLconf."""

from django.urls import include, path

from bench.floor import FloorView

urlpatterns = [
    path("bench/floor/", FloorView.as_view(), name="bench-floor"),
    path("", include("changemgmt.urls")),
]
