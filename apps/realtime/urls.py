from __future__ import annotations

from django.urls import path

from apps.realtime import api

urlpatterns = [
    path("realtime/tickets", api.TicketCreateApi.as_view(), name="realtime-tickets"),
    path("notifications", api.NotificationSendApi.as_view(), name="notifications"),
]
