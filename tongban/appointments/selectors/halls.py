"""Reads of halls and windows."""

from __future__ import annotations

from django.db.models import QuerySet

from tongban.appointments.models import Hall


def halls_active() -> QuerySet[Hall]:
    """Open halls, by code, with their active windows one query away."""
    return Hall.objects.filter(is_active=True).order_by("code")


def hall_names(ids) -> dict[int, str]:
    return dict(Hall.objects.filter(pk__in=list(ids)).values_list("pk", "name"))
