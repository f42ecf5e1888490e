from core.api.pagination import NewestFirstCursorPagination


# Orders, packages and cycles have no `created_at`; each cursor orders by columns that are never
# empty and end in a unique one, so following `next` neither loses nor repeats a row.
class OrderCursorPagination(NewestFirstCursorPagination):
    ordering = ("-ordered_at", "-id")


class PackageCursorPagination(NewestFirstCursorPagination):
    ordering = ("barcode",)


class CycleCursorPagination(NewestFirstCursorPagination):
    ordering = ("-started_at", "-id")


class SupplyRequestCursorPagination(NewestFirstCursorPagination):
    ordering = ("-created_at", "-id")
