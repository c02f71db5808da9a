"""Text written to CSV and XLSX files, neutralised against formula injection.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or a carriage return) as a formula: a wave title ``=HYPERLINK(...)`` would
become a live link, and worse. Every text cell that begins so gets a leading apostrophe,
which spreadsheets show as text; a text that reads as a plain number (``-3``, ``+1.5``) is
left alone, and numeric columns are never touched. JSON, Parquet, ``.dta`` and ``.sav`` keep
their text as it is: no program runs formulas from them.

Pure functions, no Django.
"""

import re
from typing import Any

FORMULA_TRIGGERS = "=+-@\t\r"
FORMULA_PREFIX = "'"
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
_NUMBER_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_NUMBER = re.compile(_NUMBER_PATTERN)


def formula_neutralise(text: str) -> str:
    """``text`` with a leading apostrophe if a spreadsheet would run it as a formula."""
    if text and text[0] in FORMULA_TRIGGERS and not _NUMBER.match(text):
        return FORMULA_PREFIX + text
    return text


def formula_neutralise_cell(value: Any) -> Any:
    """A cell of any type: text neutralised; numbers, dates, flags and missing values kept."""
    return formula_neutralise(value) if isinstance(value, str) else value


def formula_neutralise_array(array: Any) -> Any:
    """An Arrow string array with every risky text neutralised (vectorised; nulls stay null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    risky = pc.and_(
        pc.match_substring_regex(array, _TRIGGER_PATTERN),
        pc.invert(pc.match_substring_regex(array, _NUMBER_PATTERN)),
    )
    if not pc.any(risky).as_py():
        return array
    prefixed = pc.binary_join_element_wise(pa.scalar(FORMULA_PREFIX), array, "")
    return pc.if_else(risky, prefixed, array)
