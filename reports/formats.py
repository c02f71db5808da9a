"""Numbers, heat-map colours and CSV text of the report pages: pure functions from finished
numbers to strings (no ORM, no request)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:  # the dataclasses only; this module never touches the database
    pass

MISSING = "–"
SCALE_DOMAIN = (0.0, 10.0)

# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def is_number(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def fmt(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a true minus sign; NaN and None as "–"."""
    if not is_number(value):
        return MISSING
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
        if float(value) > -(0.5 * 10**-digits):  # "−0.00" is just 0.00
            text = text[1:]
    return text


def fmt_ci(low: float | None, high: float | None, digits: int = 2) -> str:
    if not (is_number(low) and is_number(high)):
        return MISSING
    return f"[{fmt(low, digits)}, {fmt(high, digits)}]"


def fmt_p(p: float | None) -> str:
    """A p-value: three decimals, "<0.001" below that."""
    if not is_number(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_rate(rate: float | None) -> str:
    return MISSING if not is_number(rate) else f"{100 * rate:.0f} %"


def csv_number(value: float | None) -> str:
    """Full precision for machines; empty for a missing value."""
    return "" if not is_number(value) else repr(float(value))


# --------------------------------------------------------------------------------------------
# Diverging heat-map colours (ColorBrewer RdBu, 11 classes): red = left side higher
# --------------------------------------------------------------------------------------------

# level → (background, text); levels −5 … 5. The text colour is chosen for a WCAG contrast of
# at least 4.5 : 1 on its background (tests/reports/test_presentation.py checks it).
HEAT_COLOURS: dict[int, tuple[str, str]] = {
    -5: ("#053061", "#ffffff"),
    -4: ("#2166ac", "#ffffff"),
    -3: ("#4393c3", "#000000"),
    -2: ("#92c5de", "#000000"),
    -1: ("#d1e5f0", "#000000"),
    0: ("#f7f7f7", "#000000"),
    1: ("#fddbc7", "#000000"),
    2: ("#f4a582", "#000000"),
    3: ("#d6604d", "#000000"),
    4: ("#b2182b", "#ffffff"),
    5: ("#67001f", "#ffffff"),
}
MISSING_COLOURS = ("#ffffff", "#555555")

DIFF_STEPS = (0.25, 1.0, 2.0, 3.0, 4.0)
"""Bounds of the colour levels of a difference on the 0–10 scale, in scale points."""
G_STEPS = (0.1, 0.2, 0.5, 0.8, 1.2)
"""Bounds of the colour levels of Hedges' g (Cohen's small, medium, large at 0.2/0.5/0.8)."""


def heat_level(value: float | None, steps: Sequence[float] = DIFF_STEPS) -> int | None:
    """−5 … 5: how many of ``steps`` |value| reaches, signed; None when missing."""
    if not is_number(value):
        return None
    level = sum(abs(value) >= step for step in steps)
    return level if value >= 0 else -level


def heat_class(value: float | None, steps: Sequence[float] = DIFF_STEPS) -> str:
    """The CSS class of a heat-map cell: ``heat-p3``, ``heat-0``, ``heat-n2``, ``heat-na``."""
    level = heat_level(value, steps)
    if level is None:
        return "heat-na"
    if level == 0:
        return "heat-0"
    return f"heat-p{level}" if level > 0 else f"heat-n{-level}"


def heat_css() -> SafeString:
    """The stylesheet of the heat-map classes (placed once in the report pages)."""
    rules = []
    for level, (background, text) in HEAT_COLOURS.items():
        name = "heat-0" if level == 0 else (f"heat-p{level}" if level > 0 else f"heat-n{-level}")
        rules.append(f".{name}{{background:{background};color:{text}}}")
    rules.append(f".heat-na{{background:{MISSING_COLOURS[0]};color:{MISSING_COLOURS[1]}}}")
    return mark_safe("\n".join(rules))  # built from the constant colours above


@dataclass(frozen=True)
class LegendStep:
    css: str
    label: str


def heat_legend(steps: Sequence[float] = DIFF_STEPS) -> list[LegendStep]:
    """Swatches of the diverging scale from "≤ −4" (blue) to "≥ 4" (red)."""
    negative = [
        LegendStep(
            css=heat_class(-steps[level - 1], steps),
            label=f"≤ −{_short(steps[level - 1])}"
            if level == len(steps)
            else f"−{_short(steps[level])} … −{_short(steps[level - 1])}",
        )
        for level in range(len(steps), 0, -1)
    ]
    positive = [
        LegendStep(
            css=heat_class(steps[level - 1], steps),
            label=f"≥ {_short(steps[level - 1])}"
            if level == len(steps)
            else f"{_short(steps[level - 1])} … {_short(steps[level])}",
        )
        for level in range(1, len(steps) + 1)
    ]
    middle = LegendStep(css="heat-0", label=f"|x| < {_short(steps[0])}")
    return [*negative, middle, *positive]


def _short(number: float) -> str:
    return f"{number:g}"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 CSV with a header row. A cell starting with = + - @ gets a leading quote so
    that a spreadsheet does not run it as a formula (numbers are left alone)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_safe(cell) for cell in row])
    return buffer.getvalue()


def _csv_safe(cell: str) -> str:
    if cell and cell[0] in "=+-@\t\r":
        try:
            float(cell)
        except ValueError:
            return "'" + cell
    return cell
