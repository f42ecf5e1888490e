"""What the shared-centers viewsets share: the permissions they name and reading a body."""

from __future__ import annotations

VIEW_ORDERS = "sharedcenters.view_examorder"
VIEW_PACKAGES = "sharedcenters.view_package"
VIEW_REQUESTS = "sharedcenters.view_supplyrequest"


class BodyMixin:
    def _body(self, serializer_class, instance=None) -> dict:
        """The request body; `instance` is the row acted on, which bounds what the body may
        name (alliance.api.references)."""
        body = serializer_class(
            instance, data=self.request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        return body.validated_data
