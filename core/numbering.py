"""Gap-free document numbers (ZZ-20261207-0001): one counter row per key, locked while it counts.

Each app keeps its own counter table (its rows are the numbers already issued); the table
subclasses `Counter` and `next_number` is the one way to draw from it.
"""

from __future__ import annotations

import contextlib

from django.db import models, transaction


class Counter(models.Model):
    """The last number issued for one key (a day, or a prefix and a day): never reused."""

    # No verbose name: the concrete tables predate this base and keep their columns as they are.
    last = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


def next_number(counter: type[Counter], template: str, **key) -> str:
    """The next number of `counter` for `key`, formatted by `template` with `last` and `key`:
    `next_number(DailyCounter, "ZZ-{day:%Y%m%d}-{last:04d}", day=today)`.

    The row is locked until the caller's transaction ends, so two concurrent callers never draw
    the same number, and a rolled-back caller gives its number back."""
    # Inside the caller's transaction the row is locked there; a transaction of its own only when
    # there is none (a savepoint would cost two more round trips for every number drawn).
    in_transaction = transaction.get_connection().in_atomic_block
    with contextlib.nullcontext() if in_transaction else transaction.atomic():
        counter.objects.get_or_create(**key)
        row = counter.objects.select_for_update().get(**key)
        row.last += 1
        row.save(update_fields=["last"])
    return template.format(last=row.last, **key)
