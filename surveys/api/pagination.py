"""Pagination of the API: pages for the small reference lists, cursors for the big tables."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_ID = 2**63 - 1


class ReferencePagination(PageNumberPagination):
    """Actors, roles, panels, waves and items: a few hundred rows at most."""

    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 1000


class TrendPagination(PageNumberPagination):
    """Trends: a few thousand rows per wave, in cell order."""

    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 10_000


class IdCursorPagination(CursorPagination):
    """Raw ratings and results: millions of rows, so no counts and no offsets.

    A cursor on the primary key costs the same on the last page as on the first. A cursor
    whose position is not an id (tampered or made up) is a 404, never a database error.
    """

    ordering = "id"
    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 10_000
    offset_cutoff = 10_000

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            position = cursor.position
            if not (position.isascii() and position.isdigit() and int(position) <= MAX_ID):
                raise NotFound(self.invalid_cursor_message)
        return cursor
