"""Reads of stored aggregation results. Readers only ever see complete runs."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from django.db.models import F, OuterRef, Subquery

from aggregation.comparison_stats import (
    BH_FAMILIES,
    FAMILY_COMPARISON,
    FAMILY_WAVE_PRESET,
    benjamini_hochberg_by_family,
    significant_difference,
)
from aggregation.engine import ESTIMATOR_NAME, POOLED_PANEL
from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    EstimatorResult,
    PosteriorJob,
)
from aggregation.progress_selectors import (  # noqa: F401  (re-exported)
    ExpertStatus,
    PanelProgress,
    aggregation_pending,
    run_latest,
    wave_expert_statuses,
    wave_panel_progress,
)
from aggregation.role_network import NETWORK_CELL_COLUMNS
from surveys.delphi_selectors import waves_primary
from surveys.models import Actor, Panel, Role, Wave
from surveys.texts.selectors import text_or_code

# Reports name actors, roles and cities in English (the code where a name is missing).
REPORT_LANGUAGE = "en"


def _english(owner: str, field: str, *, ref: str = "pk", default: str = "code"):
    return text_or_code(owner, field, REPORT_LANGUAGE, ref=ref, default=default)


def run_latest_complete(*, wave: Wave) -> AggregationRun | None:
    """The newest complete run of a wave; failed and running runs are never returned."""
    return (
        AggregationRun.objects.filter(wave=wave, status=AggregationRun.Status.COMPLETE)
        .order_by("-finished_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class EstimatorSummary:
    """An estimator's result set in a run, as the reports and the API show it."""

    estimator: str
    version: str
    status: str
    note: str
    mode: str
    converged: bool | None
    rhat_share_above: float | None
    ess_bulk_min: float | None
    unidentified_experts: int

    @property
    def not_converged(self) -> bool:
        return self.converged is False


def estimator_summaries(*, run_id: int) -> dict[str, EstimatorSummary]:
    """Estimator → its result set in the run (one query); empty for a run stored before
    runs kept result sets per estimator."""
    rows = EstimatorResult.objects.filter(run_id=run_id).values_list(
        "estimator",
        "estimator_version",
        "status",
        "note",
        "mode",
        "converged",
        "rhat_share_above",
        "ess_bulk_min",
        "diagnostics",
    )
    return {
        row[0]: EstimatorSummary(
            *row[:8], unidentified_experts=len((row[8] or {}).get("unidentified_experts", []))
        )
        for row in rows
    }


def posterior_job_latest(*, run_id: int) -> PosteriorJob | None:
    return PosteriorJob.objects.filter(run_id=run_id).order_by("-requested_at").first()


# Admin reports: waves, comparisons, trends, panel progress --------------------------------
# Plain dataclasses out, so that the reports app formats finished numbers without the ORM.


def _latest_complete_run_id():
    """Subquery: the id of the newest complete run of the outer wave."""
    return Subquery(
        AggregationRun.objects.filter(wave=OuterRef("pk"), status=AggregationRun.Status.COMPLETE)
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )


@dataclass(frozen=True)
class WaveOption:
    id: int
    slug: str
    title: str
    status: str
    is_synthetic: bool
    run_id: int | None
    """The newest complete aggregation run of the wave, if any."""


def waves_with_latest_run() -> list[WaveOption]:
    """Every wave, oldest first, with the id of its newest complete run (one query)."""
    rows = (
        Wave.objects.annotate(run_id=_latest_complete_run_id())
        .order_by(F("opens_at").asc(nulls_last=True), "slug")
        .values_list("id", "slug", "title", "status", "is_synthetic", "run_id")
    )
    return [WaveOption(*row) for row in rows]


@dataclass(frozen=True)
class ActorPlace:
    """An actor and the panel sitting in its capital (None for actors without a panel)."""

    code: str
    name: str
    panel: str | None
    city: str | None


def actor_places() -> dict[str, ActorPlace]:
    """Actor code → name, home panel code and city (two queries)."""
    cities = dict(Panel.objects.annotate(city=_english("panel", "city")).values_list("pk", "city"))
    places: dict[str, ActorPlace] = {}
    rows = (
        Actor.objects.annotate(name=_english("actor", "name"))
        .order_by("order", "code", "panels__code")
        .values_list("code", "name", "panels__code", "panels__pk")
    )
    for code, name, panel, panel_id in rows:
        places.setdefault(
            code, ActorPlace(code=code, name=name, panel=panel, city=cities.get(panel_id))
        )
    return places


@dataclass(frozen=True)
class ComparisonRoleRow:
    """One role of a stored comparison; numbers are None where the engine had none."""

    role: str
    role_name: str
    n_left: int
    mean_left: float | None
    sd_left: float | None
    ci_low_left: float | None
    ci_high_left: float | None
    n_right: int
    mean_right: float | None
    sd_right: float | None
    ci_low_right: float | None
    ci_high_right: float | None
    diff: float | None
    diff_ci_low: float | None
    diff_ci_high: float | None
    se_diff: float | None
    t: float | None
    df: float | None
    hedges_g: float | None
    p_value: float | None
    p_adjusted: float | None
    family_size: int
    family: str
    """The Benjamini–Hochberg family of ``p_adjusted``: ``comparison`` or ``wave_preset``."""
    prob_sign: float | None = None

    @property
    def significant(self) -> bool | None:
        """Below 0.05 after the Benjamini–Hochberg adjustment; where there is no p-value
        (the ordinal IRT), the 95 % interval of the difference excludes zero."""
        return significant_difference(self.p_adjusted, self.diff_ci_low, self.diff_ci_high)


@dataclass(frozen=True)
class StoredComparison:
    """A preset comparison of one subject in one run, with its roles in typology order."""

    run_id: int
    preset: str
    subject: str
    subject_name: str
    left_label: str
    right_label: str
    method: str
    dominant_left: str
    dominant_right: str
    profile_distance: float | None
    rows: tuple[ComparisonRoleRow, ...]
    estimator: str = ESTIMATOR_NAME

    def role_name(self, code: str) -> str:
        return next((row.role_name for row in self.rows if row.role == code), code)


_ROLE_ROW_FIELDS = [name for name in ComparisonRoleRow.__dataclass_fields__ if name != "role"]


def comparisons_stored(
    *,
    run_id: int,
    preset: str | None = None,
    subject: str | None = None,
    family: str = FAMILY_COMPARISON,
    estimator: str = ESTIMATOR_NAME,
) -> list[StoredComparison]:
    """The stored preset comparisons of a run (one query), optionally of one preset/subject
    (saved comparisons are ``aggregation.research_questions``'s).

    Ordered by preset, the subject's actor order and the roles' typology order. ``family``
    chooses the Benjamini–Hochberg family of ``p_adjusted``: ``comparison``, the roles of one
    comparison, as stored; or ``wave_preset``, every test of the run's preset (all subjects
    and roles: the overview matrix), adjusted here from the stored p-values (one more query).
    """
    if family not in BH_FAMILIES:
        raise ValueError(f"family must be one of {BH_FAMILIES}, got {family!r}")
    results = ComparisonResult.objects.filter(
        run_id=run_id, saved_version__isnull=True, estimator=estimator
    )
    if preset is not None:
        results = results.filter(preset=preset)
    if subject is not None:
        results = results.filter(subject__code=subject)
    rows = (
        results.annotate(
            subject_name=_english("actor", "name", ref="subject_id", default="subject__code"),
            role_name=_english("role", "name", ref="role_id", default="role__code"),
        )
        .order_by("preset", "subject__order", "subject__code", "role__order")
        .values(
            "pk",
            "preset",
            "subject__code",
            "subject_name",
            "left_label",
            "right_label",
            "method",
            "dominant_left",
            "dominant_right",
            "profile_distance",
            "role__code",
            "role_name",
            *(name for name in _ROLE_ROW_FIELDS if name != "role_name"),
        )
    )
    rows = list(rows)
    if family == FAMILY_WAVE_PRESET:
        rows = _adjusted_over_presets(run_id, rows, estimator)
    grouped: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["preset"], row["subject__code"])
        group = grouped.setdefault(key, {"head": row, "rows": []})
        group["rows"].append(
            ComparisonRoleRow(
                role=row["role__code"],
                **{
                    name: row[name]
                    for name in ComparisonRoleRow.__dataclass_fields__
                    if name != "role"
                },
            )
        )
    return [
        StoredComparison(
            run_id=run_id,
            preset=preset_code,
            subject=subject_code,
            subject_name=group["head"]["subject_name"],
            left_label=group["head"]["left_label"],
            right_label=group["head"]["right_label"],
            method=group["head"]["method"],
            dominant_left=group["head"]["dominant_left"],
            dominant_right=group["head"]["dominant_right"],
            profile_distance=group["head"]["profile_distance"],
            rows=tuple(group["rows"]),
            estimator=estimator,
        )
        for (preset_code, subject_code), group in grouped.items()
    ]


def _adjusted_over_presets(run_id: int, rows: list[dict], estimator: str) -> list[dict]:
    """``rows`` with ``p_adjusted`` and ``family_size`` of the wave-and-preset family: BH over
    every stored p-value of the run's preset under one estimator
    (``stats.benjamini_hochberg_by_family``)."""
    presets = sorted({row["preset"] for row in rows})
    tests = list(
        ComparisonResult.objects.filter(run_id=run_id, preset__in=presets, estimator=estimator)
        .order_by()
        .values_list("pk", "preset", "p_value")
    )
    if not tests:
        return rows
    ids, labels, p_values = zip(*tests, strict=True)
    adjusted, sizes = benjamini_hochberg_by_family(
        [math.nan if p is None else p for p in p_values], labels
    )
    by_id = {pk: (float(a), int(m)) for pk, a, m in zip(ids, adjusted, sizes, strict=True)}
    return [
        {
            **row,
            "p_adjusted": None if math.isnan(by_id[row["pk"]][0]) else by_id[row["pk"]][0],
            "family_size": by_id[row["pk"]][1],
            "family": FAMILY_WAVE_PRESET,
        }
        for row in rows
    ]


def comparison_subjects(*, run_id: int) -> list[tuple[str, str]]:
    """(code, name) of the subjects with stored comparisons in a run, in actor order."""
    return list(
        Actor.objects.filter(
            pk__in=ComparisonResult.objects.filter(
                run_id=run_id, saved_version__isnull=True, estimator=ESTIMATOR_NAME
            ).values("subject_id")
        )
        .annotate(name=_english("actor", "name"))
        .values_list("code", "name")
    )


def role_options() -> list[tuple[str, str]]:
    """(code, name) of every role of the typology, in typology order."""
    return list(Role.objects.annotate(name=_english("role", "name")).values_list("code", "name"))


def actor_options() -> list[tuple[str, str]]:
    return list(Actor.objects.annotate(name=_english("actor", "name")).values_list("code", "name"))


def panel_options() -> list[tuple[str, str]]:
    return list(Panel.objects.annotate(city=_english("panel", "city")).values_list("code", "city"))


@dataclass(frozen=True)
class TrendPoint:
    """One role's value in one wave's newest complete run, with its 95 % CI and n."""

    wave: str
    role: str
    role_name: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


def _latest_run_ids():
    """The newest complete run of each wave of the primary data: a trend leaves later Delphi
    rounds out (``waves_primary``)."""
    return (
        Wave.objects.filter(waves_primary())
        .annotate(run_id=_latest_complete_run_id())
        .values("run_id")
    )


def cell_trend(
    *,
    holder: str,
    subject: str,
    perspective: str,
    panel: str | None,
    roles: Sequence[str] | None = None,
    estimator: str = ESTIMATOR_NAME,
) -> list[TrendPoint]:
    """A cell's mean across waves, one point per (wave, role), from each wave's newest
    complete run (one query). ``panel`` None reads the statistics pooled over all panels."""
    cells = CellResult.objects.filter(
        run_id__in=_latest_run_ids(),
        estimator=estimator,
        holder__code=holder,
        subject__code=subject,
        perspective=perspective,
    )
    cells = cells.filter(panel__isnull=True) if panel is None else cells.filter(panel__code=panel)
    if roles:
        cells = cells.filter(role__code__in=roles)
    rows = (
        cells.annotate(role_name=_english("role", "name", ref="role_id", default="role__code"))
        .order_by("role__order", "run__wave__slug")
        .values_list("run__wave__slug", "role__code", "role_name", "mean", "ci_low", "ci_high", "n")
    )
    return [TrendPoint(*row) for row in rows]


def comparison_trend(
    *,
    preset: str,
    subject: str,
    roles: Sequence[str] | None = None,
    estimator: str = ESTIMATOR_NAME,
) -> list[TrendPoint]:
    """A preset comparison's difference (left − right) across waves, one point per
    (wave, role), from each wave's newest complete run (one query); n is the smaller side."""
    results = ComparisonResult.objects.filter(
        run_id__in=_latest_run_ids(), preset=preset, subject__code=subject, estimator=estimator
    )
    if roles:
        results = results.filter(role__code__in=roles)
    rows = (
        results.annotate(role_name=_english("role", "name", ref="role_id", default="role__code"))
        .order_by("role__order", "run__wave__slug")
        .values_list(
            "run__wave__slug",
            "role__code",
            "role_name",
            "diff",
            "diff_ci_low",
            "diff_ci_high",
            "n_left",
            "n_right",
        )
    )
    return [
        TrendPoint(wave, role, name, diff, low, high, min(n_left, n_right))
        for wave, role, name, diff, low, high, n_left, n_right in rows
    ]


# API and exports ---------------------------------------------------------------------------


def runs_latest_complete_ids(*, estimator: str | None = None):
    """A subquery of the newest complete run's id of every wave that has one (of
    ``estimator``, if given).

    For ``filter(run_id__in=...)``: the API's results and trends read these runs only.
    """
    runs = AggregationRun.objects.filter(wave=OuterRef("pk"), status=AggregationRun.Status.COMPLETE)
    if estimator is not None:
        runs = runs.filter(estimator_name=estimator)
    newest = runs.order_by("-finished_at", "-pk").values("pk")[:1]
    return (
        Wave.objects.annotate(newest_run_id=Subquery(newest))
        .filter(newest_run_id__isnull=False)
        .values("newest_run_id")
    )


# Role network ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkInputs:
    """What ``aggregation.role_network`` draws a run from: its cells and the actors."""

    cells: pd.DataFrame
    actors: list[tuple[str, str]]
    """(code, kind) of every actor, in display order."""
    home_panel: dict[str, str]


def network_inputs(*, run_id: int) -> NetworkInputs:
    """The conception and expectation cell means of a run, in typology order (three queries)."""
    rows = (
        CellResult.objects.filter(
            run_id=run_id,
            estimator=ESTIMATOR_NAME,
            perspective__in=["conception", "expectation"],
        )
        .order_by("role__order", "role__code")
        .values_list(
            "panel__code", "holder__code", "subject__code", "perspective", "role__code", "mean"
        )
        .iterator()
    )
    cells = pd.DataFrame(list(rows), columns=NETWORK_CELL_COLUMNS)
    cells["panel"] = cells["panel"].fillna(POOLED_PANEL)
    cells["mean"] = cells["mean"].astype(float)
    actors = list(Actor.objects.order_by("order", "code").values_list("code", "kind"))
    home_panel: dict[str, str] = {}
    for actor, panel in Panel.objects.order_by("code").values_list("actor__code", "code"):
        home_panel.setdefault(actor, panel)
    return NetworkInputs(cells=cells, actors=actors, home_panel=home_panel)
