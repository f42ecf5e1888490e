"""What a request body may name: one rule for every writable related field of the API.

A `ReferenceField` is a primary-key field in two layers:

* its rows are those the requesting user may see (`restrict(user)` where the model has it): an
  id outside them is refused exactly like an id that does not exist, so a body cannot probe
  which patients or referrals exist;
* its `scope` narrows them to what the user may name in this field of this request. A scope
  may depend on the object changed or acted on (a department of the referral's sending
  institution) or on another field of the body (an item of the chosen center), so
  `ReferencesMixin.validate()` applies it once every field is read: on create, on update and
  on every action alike. A row outside the scope is a 400 naming the field.

A value the object already holds is kept, not named anew, and is not checked again. The
services keep their own checks (pages, tasks and imports call them too); a scope says the same
thing, built from the same querysets, so page and API refuse the same things.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.access import RestrictedQuerySet, profile_of


@dataclass
class Refs:
    """What a scope may look at: who asks, the object changed or acted on, and the body."""

    user: Any
    instance: Model | None
    attrs: dict
    item: dict = field(default_factory=dict)  # the line of a nested list being checked

    @cached_property
    def profile(self):
        return profile_of(self.user)

    def get(self, name: str):
        """The body's value of a field, else the value the object holds."""
        if name in self.attrs:
            return self.attrs[name]
        return getattr(self.instance, name, None)


Scope = Callable[[Refs], QuerySet | None]


class ReferenceField(serializers.PrimaryKeyRelatedField):
    """A row the requesting user may see, and (with `scope`) may name here; see the module."""

    def __init__(self, *, scope: Scope | None = None, message=None, **kwargs) -> None:
        self.scope = scope
        self.scope_message = message or _("You may not choose this one here.")
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if not isinstance(queryset, RestrictedQuerySet):
            return queryset
        # By id: restrict() may join (a center's staff) and repeat a row, which would make the
        # field's `get(pk=…)` fail with MultipleObjectsReturned.
        return queryset.restrict(self.context["request"].user).by_id()

    def refused(self, rows: list[Model], refs: Refs) -> bool:
        """Whether any of the rows lies outside the scope (no scope: none does)."""
        if self.scope is None or not rows:
            return False
        allowed = self.scope(refs)
        if allowed is None:  # the scope cannot tell (no profile): the service decides
            return False
        pks = {row.pk for row in rows}
        return set(allowed.order_by().filter(pk__in=pks).values_list("pk", flat=True)) != pks


def _kept(field: serializers.Field, value, instance: Model | None) -> bool:
    """Whether the object already holds this row in the field."""
    if instance is None or value is None:
        return False
    return getattr(instance, f"{field.source}_id", None) == value.pk


def reference_errors(serializer: serializers.Serializer, attrs: dict, refs: Refs) -> dict:
    """{field: [message]} for every reference of `attrs` outside its scope, nested lists
    included (their lines see the root body as `refs.attrs`, themselves as `refs.item`)."""
    errors: dict = {}
    nested = []
    for name, field_ in serializer.fields.items():
        if field_.read_only or field_.source not in attrs:
            continue
        value = attrs[field_.source]
        if isinstance(field_, serializers.ListSerializer) and isinstance(
            field_.child, serializers.Serializer
        ):
            nested.append((name, field_.child, value or []))
        elif isinstance(field_, serializers.ManyRelatedField) and isinstance(
            field_.child_relation, ReferenceField
        ):
            if field_.child_relation.refused(list(value or []), refs):
                errors[name] = [field_.child_relation.scope_message]
        elif isinstance(field_, ReferenceField):
            if value is None or _kept(field_, value, refs.instance):
                continue
            if field_.refused([value], refs):
                errors[name] = [field_.scope_message]
    if errors:  # lines are checked against a body whose own references hold
        return errors
    for name, child, items in nested:
        lines = [
            reference_errors(child, item, Refs(refs.user, None, refs.attrs, item)) for item in items
        ]
        if any(lines):
            errors[name] = lines
    return errors


# For a request body (or a model serializer) with ReferenceFields: checks each against its scope,
# with the object changed or acted on as `instance` (None on create). A comment, not a docstring:
# drf-spectacular would print an inherited docstring in every body's schema.
class ReferencesMixin:
    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        refs = Refs(self.context["request"].user, self.instance, attrs)
        errors = reference_errors(self, attrs, refs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
