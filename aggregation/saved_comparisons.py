"""Builder comparisons against the database: ad hoc, and saved ones stored with every run.

Reads (the builder's choices, a wave's stored cells, saved definitions) and writes (saving
and revising a definition, storing saved comparisons under a run) of the comparison
builder; the statistics are ``aggregation.comparison_builder``'s.

* Cell statistics come from the newest complete run of the side's wave and estimator: the
  Welch comparison needs nothing else. Paired and partially overlapping comparisons also
  need the responses in both sides (``comparison_builder.shared_sides``), which the database
  sums in one ``GROUP BY`` (``services.paired_sums_of_pairs``), as it does for the presets.
* A saved comparison's definition is a ``SavedComparisonVersion``; revising it adds a
  version. ``saved_comparisons_store`` runs inside the transaction that completes a run and
  stores each saved comparison's current version beside the presets (``ComparisonResult``
  rows tagged with the version; inter-role ones as ``InterRoleResult``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery

from aggregation import engine
from aggregation.comparison_builder import (
    ESTIMATORS,
    BuilderResult,
    SideSelector,
    builder_compare,
    builder_rows,
    shared_sides,
)
from aggregation.loaders import ratings_frame
from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    InterRoleResult,
    SavedComparison,
    SavedComparisonVersion,
)
from aggregation.result_rows import COMPARISON_FIELDS, CodeMaps, comparison_rows, rows_insert
from aggregation.selectors import ComparisonRoleRow, StoredComparison, role_options
from aggregation.services import paired_sums_of_pairs
from surveys.models import Actor, Item, Panel, Perspective, Role, Wave

logger = logging.getLogger(__name__)

SIDE_FIELDS = ("panel", "holder", "subject", "perspective", "estimator")
DEFINITION_FIELDS = [
    "kind",
    *(f"{side}_{name}" for side in ("left", "right") for name in SIDE_FIELDS),
    "role_a",
    "role_b",
]


class ComparisonUnavailable(Exception):
    """A side names a wave without a complete run of its estimator."""


# Choices and validation --------------------------------------------------------------------


@dataclass(frozen=True)
class BuilderChoices:
    """The values a builder selector may take (codes), for forms, the API and its errors."""

    waves: tuple[str, ...]
    panels: tuple[str, ...]
    actors: tuple[str, ...]
    roles: tuple[str, ...]
    perspectives: tuple[str, ...] = tuple(Perspective.values)
    estimators: tuple[str, ...] = ESTIMATORS


def builder_choices() -> BuilderChoices:
    """Waves with a complete run, panels (and ``ALL``), actors and roles (four queries)."""
    waves = (
        Wave.objects.filter(aggregation_runs__status=AggregationRun.Status.COMPLETE)
        .distinct()
        .order_by("opens_at", "slug")
        .values_list("slug", flat=True)
    )
    return BuilderChoices(
        waves=tuple(waves),
        panels=(*Panel.objects.order_by("code").values_list("code", flat=True), "ALL"),
        actors=tuple(Actor.objects.values_list("code", flat=True)),
        roles=tuple(Role.objects.values_list("code", flat=True)),
    )


def side_errors(side: Mapping[str, str], choices: BuilderChoices, *, wave: bool) -> dict:
    """Each field of a side whose value is missing or not allowed → the allowed values
    (no message quotes the value sent)."""
    allowed = {
        "panel": choices.panels,
        "holder": choices.actors,
        "subject": choices.actors,
        "perspective": choices.perspectives,
        "estimator": choices.estimators,
    }
    if wave:
        allowed = {"wave": choices.waves, **allowed}
    given = {**side}
    given.setdefault("estimator", engine.ESTIMATOR_NAME)
    return {name: values for name, values in allowed.items() if given.get(name) not in values}


# Reads ----------------------------------------------------------------------------------------


def run_for(*, wave: str, estimator: str) -> AggregationRun | None:
    """The newest complete run of a wave under an estimator.

    Hook for corrected estimators: once runs store per-estimator results, this (and
    ``cells_load``) is where a side's estimator picks them.
    """
    return (
        AggregationRun.objects.filter(
            wave__slug=wave, status=AggregationRun.Status.COMPLETE, estimator_name=estimator
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


CELL_VALUES = ["panel__code", "holder__code", "subject__code", "perspective", "role__code"]
CELL_NUMBERS = ["n", "mean", "sd", "ci_low", "ci_high"]


def cells_load(
    *,
    run_id: int,
    selectors: Iterable[engine.Selector],
    estimator: str = engine.ESTIMATOR_NAME,
) -> pd.DataFrame:
    """The stored cells of a run under one estimator that the selectors read (one query), in
    the engine's codes: ``panel`` (``ALL`` pooled), ``holder``, ``subject``, ``perspective``,
    ``role``, ``n``, ``mean``, ``sd``, ``ci_low``, ``ci_high``."""
    wanted = Q(pk__in=[])
    for selector in selectors:
        wanted |= Q(
            holder__code=selector.holder,
            subject__code=selector.subject,
            perspective=selector.perspective,
        )
    rows = (
        CellResult.objects.filter(wanted, run_id=run_id, estimator=estimator)
        .order_by()
        .values_list(*CELL_VALUES, *CELL_NUMBERS)
    )
    frame = pd.DataFrame(
        list(rows), columns=["panel", "holder", "subject", "perspective", "role", *CELL_NUMBERS]
    )
    frame["panel"] = frame["panel"].fillna(engine.POOLED_PANEL)
    return frame.astype({name: float for name in CELL_NUMBERS})


def comparison_adhoc(*, left: SideSelector, right: SideSelector) -> BuilderResult | None:
    """Two sides compared now, from stored cells (and, when experts are in both sides, the
    database's paired sums of ``shared_sides``); None when a side has no observed cell."""
    cells = {}
    for side in (left, right):
        run = run_for(wave=side.wave, estimator=side.estimator)
        if run is None:
            raise ComparisonUnavailable(
                f"wave {side.wave} has no complete run of estimator {side.estimator}"
            )
        cells[side] = cells_load(run_id=run.pk, selectors=[side.cube()])
    sums = None
    if (pair := shared_sides(left, right)) is not None:
        wave = Wave.objects.get(slug=left.wave)
        sums = paired_sums_of_pairs(wave=wave, pairs=[pair]).get(pair)
    return builder_compare(
        left, right, left_cells=cells[left], right_cells=cells[right], paired_sums=sums
    )


def saved_versions_current() -> list[SavedComparisonVersion]:
    """The newest version of every saved comparison (one query)."""
    newest = (
        SavedComparisonVersion.objects.filter(saved_comparison=OuterRef("saved_comparison"))
        .order_by("-number")
        .values("number")[:1]
    )
    return list(
        SavedComparisonVersion.objects.filter(number=Subquery(newest))
        .select_related("saved_comparison")
        .order_by("saved_comparison__question", "saved_comparison__order", "saved_comparison__slug")
    )


def saved_definitions_fingerprint() -> str:
    """The saved comparisons' current versions as text: part of a run's input fingerprint, so
    that the next run after a comparison is saved or revised computes it."""
    versions = SavedComparisonVersion.objects.filter(
        number=Subquery(
            SavedComparisonVersion.objects.filter(saved_comparison=OuterRef("saved_comparison"))
            .order_by("-number")
            .values("number")[:1]
        )
    ).order_by("pk")
    return ",".join(str(pk) for pk in versions.values_list("pk", flat=True))


def version_definition(version: SavedComparisonVersion) -> dict[str, str]:
    return {name: getattr(version, name) for name in DEFINITION_FIELDS}


def version_side(version: SavedComparisonVersion, side: str, *, wave: str) -> SideSelector:
    panel = getattr(version, f"{side}_panel")
    return SideSelector(
        wave=wave,
        panel=None if panel == engine.POOLED_PANEL else panel,
        holder=getattr(version, f"{side}_holder"),
        subject=getattr(version, f"{side}_subject"),
        perspective=getattr(version, f"{side}_perspective"),
        estimator=getattr(version, f"{side}_estimator"),
    )


def comparison_subject(left: engine.Selector, right: engine.Selector) -> str:
    """The actor a saved comparison is filed under (its ``subject``): the first actor other
    than the anchor (Russia) among left subject, right subject, right holder, left holder,
    as the presets file under the ally X; the anchor when there is none."""
    for actor in (left.subject, right.subject, right.holder, left.holder):
        if actor != engine.ANCHOR_ACTOR:
            return actor
    return engine.ANCHOR_ACTOR


# Writes ---------------------------------------------------------------------------------------


def _clean_definition(definition: Mapping[str, str]) -> dict[str, str]:
    cleaned = {name: definition.get(name, "") or "" for name in DEFINITION_FIELDS}
    cleaned["kind"] = cleaned["kind"] or SavedComparisonVersion.Kind.ROLES
    if cleaned["kind"] == SavedComparisonVersion.Kind.INTER_ROLE:
        for name in SIDE_FIELDS:  # one selector: the right side repeats the left
            cleaned[f"right_{name}"] = cleaned[f"left_{name}"]
    return cleaned


@transaction.atomic
def saved_comparison_create(
    *,
    slug: str,
    name: str,
    definition: Mapping[str, str],
    user=None,
    question: str = "",
    order: int = 0,
) -> SavedComparison:
    """A new saved comparison with its first version."""
    if slug in engine.PRESETS:
        raise ValueError(f"{slug!r} is the name of a preset")
    saved = SavedComparison.objects.create(slug=slug, name=name, question=question, order=order)
    SavedComparisonVersion.objects.create(
        saved_comparison=saved, number=1, created_by=user, **_clean_definition(definition)
    )
    return saved


@transaction.atomic
def saved_comparison_revise(
    *, saved: SavedComparison, definition: Mapping[str, str], user=None
) -> SavedComparisonVersion:
    """Give a saved comparison a new definition: a new version, unless it is unchanged.

    Results stored under earlier versions stay with them.
    """
    SavedComparison.objects.select_for_update().get(pk=saved.pk)
    current = saved.versions.order_by("-number").first()
    cleaned = _clean_definition(definition)
    if current is not None and version_definition(current) == cleaned:
        return current
    number = (saved.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    return SavedComparisonVersion.objects.create(
        saved_comparison=saved, number=number, created_by=user, **cleaned
    )


def saved_comparisons_store(*, run: AggregationRun) -> None:
    """Compute every saved comparison's current version on a run and store the results.

    Called in the transaction that completes the run, after its cells are stored. Versions
    whose estimator is not the run's are left to the runs of that estimator.
    """
    versions = [
        version
        for version in saved_versions_current()
        if version.left_estimator == run.estimator_name
        and version.right_estimator == run.estimator_name
    ]
    if not versions:
        return
    wave = run.wave.slug
    by_role = [v for v in versions if v.kind == SavedComparisonVersion.Kind.ROLES]
    inter = [v for v in versions if v.kind == SavedComparisonVersion.Kind.INTER_ROLE]
    _saved_roles_store(run, by_role, wave=wave)
    _saved_inter_roles_store(run, inter)


def _saved_roles_store(run: AggregationRun, versions: list, *, wave: str) -> None:
    sides = {
        version.pk: (
            version_side(version, "left", wave=wave),
            version_side(version, "right", wave=wave),
        )
        for version in versions
    }
    cells = cells_load(
        run_id=run.pk, selectors=[side.cube() for pair in sides.values() for side in pair]
    )
    shared = {pk: shared_sides(left, right) for pk, (left, right) in sides.items()}
    pairs = list(dict.fromkeys(pair for pair in shared.values() if pair is not None))
    sums = paired_sums_of_pairs(wave=run.wave, pairs=pairs) if pairs else {}
    frames = []
    for version in versions:
        left, right = sides[version.pk]
        result = builder_compare(
            left,
            right,
            left_cells=cells,
            right_cells=cells,
            paired_sums=sums.get(shared[version.pk]),
        )
        if result is None:
            continue
        header = {
            "wave": wave,
            "preset": version.saved_comparison.slug,
            "subject": comparison_subject(left.cube(), right.cube()),
            "saved_version_id": version.pk,
        }
        frames.append(builder_rows(result, header=header))
    if not frames:
        return
    table = pd.concat(frames, ignore_index=True)
    table["saved_version_id"] = table["saved_version_id"].astype(object).map(int)
    codes = CodeMaps.load()
    rows_insert(ComparisonResult, COMPARISON_FIELDS, comparison_rows(run, table, codes))


INTER_ROLE_NUMBERS = [
    "mean_a",
    "mean_b",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
    "hedges_g",
    "r",
    "r_ci_low",
    "r_ci_high",
]


def _saved_inter_roles_store(run: AggregationRun, versions: list) -> None:
    """Inter-role comparisons need each expert's two ratings: the two items' ratings are
    read from the database (a few dozen rows each) and compared with ``engine.inter_role``."""
    if not versions:
        return
    items = Item.objects.filter(block__wave_id=run.wave_id).values_list(
        "id", "block__holder__code", "block__subject__code", "block__perspective", "role__code"
    )
    item_ids: dict[tuple, list[int]] = {}
    for item_id, holder, subject, perspective, role in items:
        item_ids.setdefault((holder, subject, perspective, role), []).append(item_id)
    panels = dict(Panel.objects.values_list("code", "id"))
    results = []
    for version in versions:
        selector = version_side(version, "left", wave=run.wave.slug).cube()
        key = (selector.holder, selector.subject, selector.perspective)
        ids = item_ids.get((*key, version.role_a), []) + item_ids.get((*key, version.role_b), [])
        if not ids or (selector.panel is not None and selector.panel not in panels):
            continue
        ratings = ratings_frame(
            wave_id=run.wave_id,
            wave_slug=run.wave.slug,
            item_ids=ids,
            panel_ids=None if selector.panel is None else [panels[selector.panel]],
        )
        if ratings.empty:
            continue
        outcome = engine.inter_role(ratings, selector, version.role_a, version.role_b)
        if outcome.n == 0:
            continue
        results.append(
            InterRoleResult(
                run=run,
                saved_version=version,
                panel=version.left_panel,
                holder=selector.holder,
                subject=selector.subject,
                perspective=selector.perspective,
                role_a=version.role_a,
                role_b=version.role_b,
                n=outcome.n,
                **_finite({name: getattr(outcome, name) for name in INTER_ROLE_NUMBERS}),
            )
        )
    InterRoleResult.objects.bulk_create(results)


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {
        name: float(value) if value is not None and np.isfinite(value) else None
        for name, value in values.items()
    }


# Who may compare what ----------------------------------------------------------------------

COMPARISON_PERMISSION = "aggregation.view_comparisonresult"
RUN_PERMISSION = "aggregation.view_aggregationrun"


def builder_panels(user) -> frozenset[str] | None:
    """The panels whose data ``user`` may compare: None for every panel (researchers and
    superusers, who may read stored comparisons), the codes of the panels a panel admin
    administers (never the pooled ``ALL``, which holds other panels' ratings), and
    ``PermissionDenied`` for anyone else."""
    if user.has_perm(COMPARISON_PERMISSION):
        return None
    if user.has_perm(RUN_PERMISSION):
        return frozenset(user.administered_panels.values_list("code", flat=True))
    raise PermissionDenied


def builder_panel_errors(sides: Mapping[str, Mapping[str, str]], panels) -> dict:
    """Each side whose panel the user may not compare (``builder_panels``) → the panels
    they may."""
    if panels is None:
        return {}
    return {
        name: tuple(sorted(panels))
        for name, side in sides.items()
        if side.get("panel") not in panels
    }


def side_from(data: Mapping[str, str]) -> SideSelector:
    """A validated side (``side_errors`` found nothing) as a ``SideSelector``."""
    return SideSelector(
        wave=data["wave"],
        panel=None if data["panel"] == engine.POOLED_PANEL else data["panel"],
        holder=data["holder"],
        subject=data["subject"],
        perspective=data["perspective"],
        estimator=data.get("estimator") or engine.ESTIMATOR_NAME,
    )


def side_label(side: SideSelector) -> str:
    """E.g. "2025: expectation RUS→ARM, MOW panel"; an estimator other than plain means is
    named after it."""
    label = f"{side.wave}: {side.cube().label()}"
    return label if side.estimator == engine.ESTIMATOR_NAME else f"{label} ({side.estimator})"


def comparison_adhoc_stored(*, left: SideSelector, right: SideSelector):
    """``comparison_adhoc`` in the shape of a stored comparison (``StoredComparison``, roles
    named and in typology order), for the report pages and the API; None without data."""
    result = comparison_adhoc(left=left, right=right)
    if result is None:
        return None
    roles = dict(role_options())
    order = {code: position for position, code in enumerate(roles)}
    table = result.roles.assign(order=result.roles["role"].map(order)).sort_values("order")
    rows = tuple(
        ComparisonRoleRow(
            role=row["role"],
            role_name=roles.get(row["role"]) or row["role"],
            family=row["family"],
            **{
                name: _plain(row.get(name, np.nan))
                for name in ComparisonRoleRow.__dataclass_fields__
                if name not in {"role", "role_name", "family"}
            },
        )
        for row in table.to_dict("records")
    )
    subject = comparison_subject(left.cube(), right.cube())
    return StoredComparison(
        run_id=0,
        preset="builder",
        subject=subject,
        subject_name=subject,
        left_label=side_label(left),
        right_label=side_label(right),
        method=result.method,
        dominant_left=result.dominant_left or "",
        dominant_right=result.dominant_right or "",
        profile_distance=_plain(result.profile_distance),
        rows=rows,
    )


def _plain(value):
    """A number as Python int/float, NaN as None."""
    if isinstance(value, int | np.integer):
        return int(value)
    value = float(value)
    return value if np.isfinite(value) else None
