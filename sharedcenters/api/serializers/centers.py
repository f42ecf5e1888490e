"""Centers, their catalog and their imaging slots."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ... import selectors
from ...choices import Modality, SpecimenType
from ...models import ImagingSlot, ServiceItem, SharedCenter

# --- centers and catalog ---------------------------------------------------------------------


# Read-only choices of blank columns answer "": declared, because DRF drops `allow_blank` from a
# read-only model field and the schema's enum would then leave "" out.
class ServiceItemSerializer(serializers.ModelSerializer):
    modality = serializers.ChoiceField(choices=Modality.choices, allow_blank=True, read_only=True)
    specimen_type = serializers.ChoiceField(
        choices=SpecimenType.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = ServiceItem
        fields = [
            "id",
            "code",
            "name",
            "modality",
            "specimen_type",
            "tat_routine_hours",
            "tat_urgent_hours",
            "price",
            "mutual_recognition",
        ]
        read_only_fields = fields


class SharedCenterSerializer(serializers.ModelSerializer):
    items = ServiceItemSerializer(
        source="active_items", many=True, read_only=True, help_text=_("Active catalog items.")
    )

    class Meta:
        model = SharedCenter
        fields = [
            "id",
            "name",
            "kind",
            "institution",
            "alliance",
            "phone",
            "on_duty_phone",
            "priority_share_percent",
            "is_active",
            "items",
        ]
        read_only_fields = fields


# --- imaging slots ---------------------------------------------------------------------------


class ImagingSlotSerializer(serializers.ModelSerializer):
    booked = serializers.IntegerField(read_only=True, help_text=_("Places taken."))
    booked_priority = serializers.IntegerField(
        read_only=True, help_text=_("Places taken by green-channel patients.")
    )
    available_ordinary = serializers.SerializerMethodField(
        help_text=_("Places an ordinary patient may still book.")
    )
    available_priority = serializers.SerializerMethodField(
        help_text=_("Places a green-channel patient may still book (any free place).")
    )

    class Meta:
        model = ImagingSlot
        fields = [
            "id",
            "center",
            "modality",
            "starts_at",
            "ends_at",
            "capacity",
            "priority_reserved",
            "booked",
            "booked_priority",
            "available_ordinary",
            "available_priority",
        ]
        read_only_fields = fields

    # The green channel's rule (selectors.free_places): the reserve only limits ordinary patients.
    def get_available_ordinary(self, slot: ImagingSlot) -> int:
        return selectors.places_for(slot, priority_channel=False)

    def get_available_priority(self, slot: ImagingSlot) -> int:
        return selectors.places_for(slot, priority_channel=True)
