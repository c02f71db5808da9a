"""Reads of a wave's fieldwork for the wave dashboard and the expert status page: invitations
by panel and status, and each expert's status (names only for those who may see them)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from aggregation.models import (
    AggregationRun,
    PendingAggregation,
)
from surveys.models import Invitation, Panel, Wave
from surveys.texts.selectors import text_or_code


@dataclass(frozen=True)
class PanelProgress:
    """How far one panel is in a wave: invitations by status; ``sent`` counts those e-mailed."""

    panel: str
    city: str
    invited: int
    sent: int
    started: int
    submitted: int

    @property
    def not_started(self) -> int:
        return self.invited - self.started - self.submitted

    @property
    def response_rate(self) -> float | None:
        return self.submitted / self.invited if self.invited else None


def wave_panel_progress(
    *, wave: Wave, panel_ids: frozenset[int] | None = None
) -> list[PanelProgress]:
    """Per panel: invited, e-mailed, started (draft) and submitted invitations (one query).

    Every panel is listed (those of ``panel_ids``, None: all), also one without invitations
    to this wave.
    """
    panels = Panel.objects.all() if panel_ids is None else Panel.objects.filter(pk__in=panel_ids)
    in_wave = Q(experts__invitations__wave=wave)
    status = "experts__invitations__status"
    rows = (
        panels.annotate(
            invited=Count("experts__invitations", filter=in_wave),
            sent=Count(
                "experts__invitations",
                filter=in_wave & Q(experts__invitations__sent_at__isnull=False),
            ),
            started=Count(
                "experts__invitations", filter=in_wave & Q(**{status: Invitation.Status.STARTED})
            ),
            submitted=Count(
                "experts__invitations", filter=in_wave & Q(**{status: Invitation.Status.SUBMITTED})
            ),
        )
        .annotate(city=text_or_code("panel", "city", "en"))  # reports name cities in English
        .values_list("code", "city", "invited", "sent", "started", "submitted")
    )
    return [PanelProgress(*row) for row in rows]


def run_latest(*, wave: Wave) -> AggregationRun | None:
    """The newest run of a wave whatever its state (running, complete or failed)."""
    return AggregationRun.objects.filter(wave=wave).order_by("-started_at", "-pk").first()


def aggregation_pending(*, wave: Wave) -> PendingAggregation | None:
    return PendingAggregation.objects.filter(wave=wave).first()


@dataclass(frozen=True)
class ExpertStatus:
    """An invited expert's progress, pseudonymous: name and e-mail only when asked for."""

    invitation_id: int
    expert_id: int
    panel: str
    language: str
    expert_active: bool
    status: str
    created_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    submitted_at: datetime | None
    reminders_sent: int
    last_reminder_at: datetime | None
    response_status: str | None
    name: str | None = None
    email: str | None = None


def wave_expert_statuses(
    *,
    wave: Wave,
    panel: str | None = None,
    status: str | None = None,
    with_identity: bool = False,
    panel_ids: frozenset[int] | None = None,
):
    """The invitations of a wave as ``ExpertStatus`` rows (a lazy query: slice it to page).

    Never an answer, nor the response's id or pseudonym (which would join the expert to their
    answers); names and e-mails only with ``with_identity``. ``panel_ids`` (None: all)
    narrows the rows to the panels a panel admin administers.
    """
    invitations = Invitation.objects.filter(wave=wave)
    if panel_ids is not None:
        invitations = invitations.filter(expert__panel__in=panel_ids)
    if panel:
        invitations = invitations.filter(expert__panel__code=panel)
    if status:
        invitations = invitations.filter(status=status)
    fields = [
        "id",
        "expert_id",
        "expert__panel__code",
        "language",
        "expert__is_active",
        "status",
        "created_at",
        "sent_at",
        "opened_at",
        "submitted_at",
        "reminders_sent",
        "last_reminder_at",
        "response__status",
    ]
    if with_identity:
        fields += ["expert__name", "expert__email"]
    return _ExpertStatusQuery(
        invitations.order_by("expert__panel__code", "expert_id").values_list(*fields)
    )


class _ExpertStatusQuery:
    """A values_list query that yields ``ExpertStatus`` rows, sliceable and countable, so a
    paginator reads one page with one query."""

    def __init__(self, queryset) -> None:
        self._queryset = queryset

    def count(self) -> int:
        return self._queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        rows = self._queryset[index]
        if isinstance(index, slice):
            return [ExpertStatus(*row) for row in rows]
        return ExpertStatus(*rows)

    def __iter__(self):
        return (ExpertStatus(*row) for row in self._queryset)
