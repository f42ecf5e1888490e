from rest_framework.pagination import CursorPagination, PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; clients may ask for up to 200 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 200


class NewestFirstCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}` without a COUNT(*): for lists that grow without bound
    (referrals, events), where counting every visible row would cost more than the page."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200
