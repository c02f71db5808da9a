"""Pagination of the API: pages for the small reference lists, cursors for the big tables.

``page_size`` is a whole number from 1; a bigger one than the list's maximum is that maximum,
anything else a 400 (DRF would fall back to the default size without a word).
"""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

from surveys.api.query import QueryParameterError, parameter_error

MAX_ID = 2**63 - 1


class StrictPageSizeMixin:
    def get_page_size(self, request):
        given = request.query_params.get(self.page_size_query_param, "")
        if given == "":
            return self.page_size
        if not (given.isascii() and given.isdigit()) or int(given) < 1:
            view = request.parser_context.get("view")
            raise QueryParameterError(
                {self.page_size_query_param: parameter_error("invalid_page_size")},
                view.query_parameters() if view is not None else [],
            )
        return min(int(given), self.max_page_size)


class ReferencePagination(StrictPageSizeMixin, PageNumberPagination):
    """Actors, roles, panels, waves and items: a few hundred rows at most."""

    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 1000


class TrendPagination(StrictPageSizeMixin, PageNumberPagination):
    """Trends: a few thousand rows per wave, in cell order."""

    page_size = 1000
    page_size_query_param = "page_size"
    max_page_size = 10_000


class IdCursorPagination(StrictPageSizeMixin, CursorPagination):
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


class PseudonymCursorPagination(IdCursorPagination):
    """Raw ratings, ordered by their response's pseudonym, then item: never by id, whose
    order follows the order experts were invited or answered.

    The cursor's position is a pseudonym (random, unique); the offset counts the ratings of
    that pseudonym already served, at most one wave's items. A position that is not a
    pseudonym's characters is a 404.
    """

    ordering = ("pseudonym", "item_id")

    def decode_cursor(self, request):
        cursor = CursorPagination.decode_cursor(self, request)
        if cursor is not None and cursor.position is not None:
            position = cursor.position
            if not (0 < len(position) <= 16 and position.isascii()) or not all(
                character.isalnum() or character == "-" for character in position
            ):
                raise NotFound(self.invalid_cursor_message)
        return cursor
