"""Change history of the records that matter (等保2.0 安全审计, HIPAA §164.312(b)).

django-pghistory installs PostgreSQL triggers that copy each inserted, updated or deleted row of
a tracked model into its history table, so bulk and queryset updates are caught as well as
`save()`. The request's user and address are attached to every change it makes (the middleware
below). On SQLite (`make run`) there are no triggers and no history: it is a PostgreSQL feature.
"""

from __future__ import annotations

from collections.abc import Callable

import pghistory
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.http import HttpRequest, HttpResponseBase
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from pghistory.middleware import HistoryMiddleware


def tracked(model_name: str, **options):
    """`@tracked("ReferralHistory")`: every insert, update and delete of the model is kept, in
    an append-only history table of that name, named after the model in the admin
    (转诊 变更历史)."""

    def decorate(model: type[models.Model]) -> type[models.Model]:
        name = format_lazy(_("{model} change history"), model=model._meta.verbose_name)
        # New trackers per model: pghistory binds each tracker to the model it tracks.
        trackers = (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
        return pghistory.track(
            *trackers,
            model_name=model_name,
            append_only=True,
            # `history`, not pghistory's `events`: the referrals' and orders' own event
            # timelines are `events` already.
            obj_field=pghistory.ObjForeignKey(related_name="history"),
            meta={"verbose_name": name, "verbose_name_plural": name},
            **options,
        )(model)

    return decorate


def latest_changes(history_model, limit: int = 30, **filters) -> list:
    """The latest rows of a history table, newest first, each with `changed_by`: the user of the
    request that made the change, or None for a script (PostgreSQL only: SQLite keeps none)."""
    if connection.vendor != "postgresql":
        return []
    rows = list(
        history_model.objects.filter(**filters)
        .select_related("pgh_context")
        .order_by("-pgh_created_at", "-pgh_id")[:limit]
    )
    return with_actors(rows)


def with_actors(rows: list) -> list:
    """Sets `changed_by` on each history row from its context, with one query for the users."""

    def user_id(row):
        return row.pgh_context.metadata.get("user") if row.pgh_context_id else None

    users = get_user_model().objects.in_bulk([u for u in map(user_id, rows) if u])
    for row in rows:
        row.changed_by = users.get(user_id(row))
    return rows


class HistoryContextMiddleware(HistoryMiddleware):
    """pghistory's middleware (who and which URL made each change), on PostgreSQL only: it
    prefixes statements with PostgreSQL's `set_config`, which SQLite does not know."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        super().__init__(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if connection.vendor != "postgresql":
            return self.get_response(request)
        return super().__call__(request)
