"""The wave dashboard's panel progress: rows, a bar chart and CSV rows of invitations and
responses per panel, and the CSV of experts' invitation statuses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString

from reports.formats import (
    csv_number,
    fmt_rate,
)
from reports.svg import AXIS_COLOUR, num, svg_document, svg_text, tag

if TYPE_CHECKING:  # the dataclasses only; this module never touches the database
    from aggregation.selectors import (
        ExpertStatus,
        PanelProgress,
    )

PROGRESS_COLOURS = {
    "submitted": "#1a7f37",
    "started": "#e0a800",
    "not_started": "#c8c8c8",
}


@dataclass(frozen=True)
class ProgressRow:
    panel: str
    city: str
    invited: int
    sent: int
    started: int
    submitted: int
    not_started: int
    response_rate: str


def progress_rows(progress: Sequence[PanelProgress]) -> list[ProgressRow]:
    """The panels' rows and a total row last."""
    rows = [
        ProgressRow(
            p.panel,
            p.city,
            p.invited,
            p.sent,
            p.started,
            p.submitted,
            p.not_started,
            fmt_rate(p.response_rate),
        )
        for p in progress
    ]
    invited = sum(p.invited for p in progress)
    submitted = sum(p.submitted for p in progress)
    started = sum(p.started for p in progress)
    rows.append(
        ProgressRow(
            "all",
            "All panels",
            invited,
            sum(p.sent for p in progress),
            started,
            submitted,
            invited - started - submitted,
            fmt_rate(submitted / invited if invited else None),
        )
    )
    return rows


def progress_svg(progress: Sequence[PanelProgress], *, title: str) -> SafeString:
    """One stacked horizontal bar per panel: submitted, started, not started (of invited)."""
    width, label_width, right_margin = 620.0, 150.0, 80.0
    top, row_height, bottom = 44.0, 30.0, 44.0
    height = top + row_height * max(len(progress), 1) + bottom
    x0, x1 = label_width, width - right_margin
    body = [tag("rect", x=0, y=0, width=num(width), height=num(height), fill="#ffffff")]
    legend_x = x0
    for key, label in (
        ("submitted", "submitted"),
        ("started", "started (draft)"),
        ("not_started", "not started"),
    ):
        body.append(
            tag("rect", x=num(legend_x), y=10, width=14, height=14, fill=PROGRESS_COLOURS[key])
        )
        body.append(svg_text(legend_x + 20, 22, label))
        legend_x += 34 + 8 * len(label)
    for index, p in enumerate(progress):
        y = top + index * row_height
        body.append(svg_text(x0 - 10, y + row_height / 2 + 4.5, p.city, text_anchor="end"))
        position = x0
        for key, count in (
            ("submitted", p.submitted),
            ("started", p.started),
            ("not_started", p.not_started),
        ):
            if not p.invited or not count:
                continue
            span = count / p.invited * (x1 - x0)
            body.append(
                tag(
                    "rect",
                    tag("title", escape(f"{p.city}: {count} {key.replace('_', ' ')}")),
                    x=num(position),
                    y=num(y + 5),
                    width=num(span),
                    height=num(row_height - 10),
                    fill=PROGRESS_COLOURS[key],
                )
            )
            position += span
        body.append(svg_text(x1 + 8, y + row_height / 2 + 4.5, fmt_rate(p.response_rate)))
    axis_y = top + row_height * max(len(progress), 1)
    body.append(
        tag("line", x1=num(x0), x2=num(x1), y1=num(axis_y), y2=num(axis_y), stroke=AXIS_COLOUR)
    )
    for share in (0, 0.25, 0.5, 0.75, 1):
        body.append(
            svg_text(x0 + share * (x1 - x0), axis_y + 16, f"{share:.0%}", text_anchor="middle")
        )
    body.append(
        svg_text((x0 + x1) / 2, height - 6, "Share of invited experts", text_anchor="middle")
    )
    return svg_document(width, height, title, body)


PROGRESS_CSV_HEADER = ["panel", "invited", "sent", "started", "submitted", "response_rate"]


def progress_csv_rows(progress: Sequence[PanelProgress]) -> list[list[str]]:
    return [
        [
            p.panel,
            str(p.invited),
            str(p.sent),
            str(p.started),
            str(p.submitted),
            csv_number(p.response_rate),
        ]
        for p in progress
    ]


EXPERT_STATUS_CSV_HEADER = [
    "expert",
    "panel",
    "language",
    "active",
    "invitation_status",
    "created_at",
    "sent_at",
    "opened_at",
    "submitted_at",
    "reminders_sent",
    "last_reminder_at",
    "response_status",
]


def expert_status_csv_rows(statuses: Iterable[ExpertStatus]) -> list[list[str]]:
    """Pseudonymous: the expert's number, never a name or an e-mail."""

    def when(value) -> str:
        return value.isoformat() if value else ""

    return [
        [
            f"expert-{s.expert_id}",
            s.panel,
            s.language,
            "yes" if s.expert_active else "no",
            s.status,
            when(s.created_at),
            when(s.sent_at),
            when(s.opened_at),
            when(s.submitted_at),
            str(s.reminders_sent),
            when(s.last_reminder_at),
            s.response_status or "",
        ]
        for s in statuses
    ]
