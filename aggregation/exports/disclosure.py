"""Submission dates that do not single out an expert: coarsened, and blanked in small groups.

An expert's panel and the day they answered can be enough to name them: in a panel of twelve,
most days see one submission. So every export and the API give the submission date only to
the precision of ``EXPORT_DATE_PRECISION`` (the first day of its month by default; or the
Monday of its ISO week, the day itself, or no date at all), and a date is given only if at
least ``EXPORT_MIN_GROUP_SIZE`` responses (k, 5 by default) of the same wave and panel share it.

A group (wave × panel × coarsened date) smaller than k is either *suppressed* (the default:
its dates are left empty, and the metadata says how many) or makes the export *refuse*
(``EXPORT_SMALL_GROUPS = "refuse"``). Suppression is complementary: if the blanked responses of
a panel are themselves fewer than k, the next smallest groups of that panel are blanked too,
until at least k dates are blank or none is left, so that "the one expert without a date" is
never a group of its own. Responses are the unit, not ratings: one expert is one member.

Pure functions on pandas, no Django.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

DATE_PRECISIONS = ("month", "week", "day", "none")
SMALL_GROUP_ACTIONS = ("suppress", "refuse")
GROUP_COLUMNS = ("wave", "panel")


class SmallGroupError(ValueError):
    """A group smaller than k, where the setting says to refuse rather than suppress."""


def date_coarsen(day: date | None, *, precision: str) -> date | None:
    """``day`` to ``precision``: the first of its month, the Monday of its ISO week, the day
    itself, or nothing (``none``)."""
    if day is None or precision == "none":
        return None
    if precision == "month":
        return day.replace(day=1)
    if precision == "week":
        return day - timedelta(days=day.weekday())
    if precision == "day":
        return day
    raise ValueError(f"Unknown date precision {precision!r}; one of {', '.join(DATE_PRECISIONS)}.")


@dataclass(frozen=True)
class DateDisclosure:
    """What was done to the submission dates of one table: counts, never pseudonyms."""

    precision: str
    min_group_size: int
    small_groups: int
    suppressed_responses: int
    small_panels: tuple[str, ...]

    def as_dict(self) -> dict:
        return {
            "precision": self.precision,
            "min_group_size": self.min_group_size,
            "small_groups": self.small_groups,
            "suppressed_responses": self.suppressed_responses,
            "small_panels": list(self.small_panels),
        }

    @property
    def warnings(self) -> list[str]:
        notes = []
        if self.suppressed_responses:
            notes.append(
                f"{self.small_groups} wave × panel × date groups had fewer than "
                f"{self.min_group_size} responses; the submission date of "
                f"{self.suppressed_responses} responses is left empty."
            )
        if self.small_panels:
            notes.append(
                f"Panels with fewer than {self.min_group_size} submitted responses: "
                f"{', '.join(self.small_panels)}; none of their dates is given."
            )
        return notes


def _complementary(sizes: pd.Series, k: int) -> set:
    """Of one panel's groups (size by date), those whose dates are blanked."""
    ordered = sizes.sort_values(kind="stable")
    blanked = {day for day, size in ordered.items() if size < k}
    total = int(ordered[list(blanked)].sum()) if blanked else 0
    for day, size in ordered.items():
        if not 0 < total < k:
            break
        if day not in blanked:
            blanked.add(day)
            total += int(size)
    return blanked


def submission_dates_release(
    responses: pd.DataFrame,
    *,
    precision: str,
    min_group_size: int,
    action: str = "suppress",
    panel_names: dict | None = None,
) -> tuple[pd.Series, DateDisclosure]:
    """The dates that may be released, one per response, and what was done to them.

    ``responses`` has one row per submitted response with the columns ``wave``, ``panel``
    and ``submitted_on`` (a ``date``); the result has its index, holding a ``date`` or None.
    With ``action="refuse"`` a group smaller than ``min_group_size`` raises
    ``SmallGroupError`` (its message gives counts only). ``panel_names`` maps panel keys to
    the codes the report shows.
    """
    if precision not in DATE_PRECISIONS:
        raise ValueError(f"Unknown date precision {precision!r}; one of {DATE_PRECISIONS}.")
    if action not in SMALL_GROUP_ACTIONS:
        raise ValueError(f"Unknown small-group action {action!r}; one of {SMALL_GROUP_ACTIONS}.")
    k = max(int(min_group_size), 1)
    coarse = pd.Series(
        [date_coarsen(day, precision=precision) for day in responses["submitted_on"]],
        index=responses.index,
        dtype=object,
    )
    names = panel_names or {}
    released = coarse.copy()
    small_groups = 0
    small_panels: set[str] = set()
    keys = pd.DataFrame(
        {
            "wave": responses["wave"],
            "panel": responses["panel"],
            "day": coarse.map(lambda day: day.isoformat() if day else ""),
        }
    )
    for (_wave, panel), members in keys.groupby(list(GROUP_COLUMNS), sort=True):
        if len(members) < k:
            small_panels.add(str(names.get(panel, panel)))
        sizes = members.groupby("day").size()
        small_groups += int((sizes < k).sum()) if precision != "none" else 0
        blanked = _complementary(sizes, k) if precision != "none" else set()
        if blanked:
            released[members.index[members["day"].isin(blanked)]] = None
    disclosure = DateDisclosure(
        precision=precision,
        min_group_size=k,
        small_groups=small_groups,
        suppressed_responses=int((released.isna() & coarse.notna()).sum()),
        small_panels=tuple(sorted(small_panels)),
    )
    if action == "refuse" and (small_groups or small_panels):
        raise SmallGroupError(
            f"Refused: {small_groups} wave × panel × date groups and {len(small_panels)} "
            f"panels have fewer than {k} submitted responses, and EXPORT_SMALL_GROUPS is "
            "'refuse'. Choose a coarser EXPORT_DATE_PRECISION, or set EXPORT_SMALL_GROUPS to "
            "'suppress' to leave the dates of small groups empty."
        )
    return released, disclosure
