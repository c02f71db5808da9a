"""The table of the reliability report: Krippendorff's alpha and the one-way ICC of each panel
on each block of a wave, with their bootstrap intervals, formatted, and its CSV rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregation.reliability_stats import RELIABILITY_COEFFICIENTS
from reports.formats import csv_number, fmt, fmt_ci

if TYPE_CHECKING:  # the dataclass only; this module never touches the database
    from aggregation.selectors import StoredReliability

COEFFICIENT_NAMES = {
    "alpha_interval": "Krippendorff's α (interval)",
    "alpha_ordinal": "Krippendorff's α (ordinal)",
    "icc1": "ICC(1,1)",
    "icc1k": "ICC(1,k)",
}


@dataclass(frozen=True)
class Coefficient:
    value: str
    ci: str


@dataclass(frozen=True)
class ReliabilityRow:
    block: int
    block_label: str
    panel: str
    n_raters: int
    n_units: int
    coefficients: list[Coefficient]


def reliability_table(rows: Iterable[StoredReliability]) -> list[ReliabilityRow]:
    """Each panel and block, every coefficient with its 95 % bootstrap interval, formatted."""
    table = []
    for row in rows:
        actors = row.subject if row.holder == row.subject else f"{row.holder}→{row.subject}"
        table.append(
            ReliabilityRow(
                block=row.block,
                block_label=f"{row.perspective} {actors}",
                panel=row.panel,
                n_raters=row.n_raters,
                n_units=row.n_units,
                coefficients=[
                    Coefficient(
                        fmt(getattr(row, name)),
                        fmt_ci(getattr(row, f"{name}_ci_low"), getattr(row, f"{name}_ci_high")),
                    )
                    for name in RELIABILITY_COEFFICIENTS
                ],
            )
        )
    return table


RELIABILITY_CSV_HEADER = [
    "wave",
    "panel",
    "block",
    "holder",
    "subject",
    "perspective",
    "n_raters",
    "n_units",
    *(
        column
        for name in RELIABILITY_COEFFICIENTS
        for column in (name, f"{name}_ci_low", f"{name}_ci_high")
    ),
]


def reliability_csv_rows(wave: str, rows: Sequence[StoredReliability]) -> list[list[str]]:
    return [
        [
            wave,
            row.panel,
            str(row.block),
            row.holder,
            row.subject,
            row.perspective,
            str(row.n_raters),
            str(row.n_units),
            *(
                csv_number(getattr(row, column))
                for name in RELIABILITY_COEFFICIENTS
                for column in (name, f"{name}_ci_low", f"{name}_ci_high")
            ),
        ]
        for row in rows
    ]
