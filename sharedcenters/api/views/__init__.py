"""The shared-centers API: the catalog, diagnostic orders, imaging slots and sterilization.

Rows come from `restrict(user)` (an invisible row is a 404), the role is checked per action by
`action_permissions`, and every write goes through a service, whose errors the project's handler
maps: a Django ValidationError is a 400 naming the field, IllegalTransition a 409 and
ActionNotAllowed a 403. Changes of state are explicit actions, never a writable status.

One module a part: centers (the catalog and imaging slots), orders, sterilization (packages and
cycles) and supply (the members' supply requests); api/urls.py registers them.
"""

from .centers import ImagingSlotViewSet, SharedCenterViewSet
from .orders import ExamOrderViewSet
from .sterilization import PackageViewSet, SterilizationCycleViewSet
from .supply import SupplyRequestViewSet

__all__ = [
    "ExamOrderViewSet",
    "ImagingSlotViewSet",
    "PackageViewSet",
    "SharedCenterViewSet",
    "SterilizationCycleViewSet",
    "SupplyRequestViewSet",
]
