from django.urls import path

from bench.floor import FloorView
from bench.peer.views import ApproveView

urlpatterns = [
    path("bench/floor/", FloorView.as_view()),
    path("peer/processes/<int:process_id>/approve/", ApproveView.as_view()),
]
