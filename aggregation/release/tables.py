"""The tables of a wave's release, each as an ``ExportSource`` pinned to one aggregation run.

Raw ratings (long), cells and comparisons come from ``aggregation.exports`` pinned to the run
(so the ratings are exactly the ones it counted). The others are read here from the run's
stored results and the wave's instrument: ratings wide (one row per response), reliability,
wave changes, trends (each earlier wave's newest complete run and this run), the instrument,
its texts in every language, the vignettes and the cleared comments; then the corrected
estimators' result sets (``estimator_tables``). Categorical columns hold
the same integer codes and value labels as every export (``exports.label_sets_load``).
"""

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import numpy as np
import pandas as pd
from django.db.models import F

from aggregation.engine import ESTIMATOR_NAME
from aggregation.exports import (
    PERSPECTIVE_CODES,
    POOLED_PANEL_CODE,
    WAVE,
    ExportSource,
    Variable,
    export_source,
)
from aggregation.exports.variables import label_sets_load
from aggregation.models import AggregationRun, CellResult, ReliabilityResult, WaveChangeResult
from aggregation.release.estimator_tables import corrected_sources
from aggregation.reliability_stats import RELIABILITY_COEFFICIENTS
from aggregation.selectors import run_latest_complete
from surveys.models import Actor, BlockComment, InstrumentText, Item, Wave

VIGNETTE_KIND = "vignette"
STATA_NAME_MAX = 32


def _float(name: str, label: str) -> Variable:
    return Variable(name, label, "float", nullable=True)


def _category(name: str, label: str, labels: str) -> Variable:
    return Variable(name, label, "category", labels)


PANEL_OR_ALL = _category("panel", "Panel of the raters; ALL pools every panel", "panel")
HOLDER = _category("holder", "Actor whose view the item asks about", "actor")
SUBJECT = _category("subject", "Actor whose role the item asks about", "actor")
PERSPECTIVE = _category(
    "perspective", "Perspective: conception, expectation, performance", "perspective"
)
ROLE = _category("role", "Role of the typology", "role")

RELIABILITY_VARIABLES = [
    WAVE,
    _category("panel", "Panel of the raters", "panel"),
    Variable("block", "Block (page) number in the wave", "integer"),
    HOLDER,
    SUBJECT,
    PERSPECTIVE,
    Variable("n_raters", "Experts of the panel who rated the block", "integer"),
    Variable("n_units", "Items of the block rated", "integer"),
    _float("alpha_interval", "Krippendorff's alpha, interval metric"),
    _float("alpha_ordinal", "Krippendorff's alpha, ordinal metric"),
    _float("icc1", "One-way ICC(1,1) over the block's items"),
    _float("icc1k", "One-way ICC(1,k): reliability of the mean rating"),
    # Percentile bootstrap over the block's items, B = 1,000, seeded per block (docs/methods.md).
    _float("alpha_interval_ci_low", "Alpha (interval): 95% bootstrap CI, lower bound"),
    _float("alpha_interval_ci_high", "Alpha (interval): 95% bootstrap CI, upper bound"),
    _float("alpha_ordinal_ci_low", "Alpha (ordinal): 95% bootstrap CI, lower bound"),
    _float("alpha_ordinal_ci_high", "Alpha (ordinal): 95% bootstrap CI, upper bound"),
    _float("icc1_ci_low", "ICC(1,1): 95% bootstrap CI, lower bound"),
    _float("icc1_ci_high", "ICC(1,1): 95% bootstrap CI, upper bound"),
    _float("icc1k_ci_low", "ICC(1,k): 95% bootstrap CI, lower bound"),
    _float("icc1k_ci_high", "ICC(1,k): 95% bootstrap CI, upper bound"),
]
WAVE_CHANGE_VARIABLES = [
    WAVE,
    Variable("previous_wave", "The wave compared with (the one opened before)", "string"),
    PANEL_OR_ALL,
    HOLDER,
    SUBJECT,
    PERSPECTIVE,
    ROLE,
    Variable("n_t", "This wave: number of ratings with a value", "integer"),
    _float("mean_t", "This wave: mean"),
    Variable("n_prev", "Previous wave: number of ratings with a value", "integer"),
    _float("mean_prev", "Previous wave: mean"),
    _float("diff", "Change of the mean, this wave minus the previous"),
    _float("ci_low", "95% CI of the change, lower bound"),
    _float("ci_high", "95% CI of the change, upper bound"),
    _float("p_value", "p-value of the change (Welch)"),
]
TREND_VARIABLES = [
    WAVE,
    Variable("wave_opens_on", "Date the wave opened", "date"),
    Variable("run", "Aggregation run the wave's figures come from", "integer"),
    PANEL_OR_ALL,
    HOLDER,
    SUBJECT,
    PERSPECTIVE,
    ROLE,
    Variable("n", "Number of ratings with a value", "integer"),
    _float("mean", "Mean rating"),
    _float("sd", "Standard deviation"),
    _float("ci_low", "95% confidence interval of the mean, lower bound"),
    _float("ci_high", "95% confidence interval of the mean, upper bound"),
]
INSTRUMENT_VARIABLES = [
    WAVE,
    Variable("item", "Item code (perspective.holder.subject.role), stable across waves", "string"),
    Variable("wide_name", "The item's column in ratings_wide", "string"),
    Variable("block", "Block (page) number in the wave", "integer"),
    Variable("item_order", "Item's position in its block", "integer"),
    HOLDER,
    SUBJECT,
    PERSPECTIVE,
    ROLE,
    Variable("scale_min", "Lowest value of the item's scale", "integer"),
    Variable("scale_max", "Highest value of the item's scale", "integer"),
    Variable("panels", "Panels that answer the block (codes, space-separated)", "string"),
]
TEXT_VARIABLES = [
    WAVE,
    Variable(
        "owner", "What the text belongs to: wave, block, actor, role, panel, scale, item", "string"
    ),
    Variable("code", "The owner's code (block: its number; item: the item code)", "string"),
    Variable("field", "Which text: title, prompt, name, definition, city, ...", "string"),
    Variable("language", "Language (en, ru, kk, hy, ky, tg)", "string"),
    Variable("text", "The text", "string"),
    Variable("status", "draft or reviewed (item: as fielded)", "string"),
]
VIGNETTE_VARIABLES = [
    WAVE,
    Variable("code", "The vignette actor's code", "string"),
    Variable("field", "Which text: name or description", "string"),
    Variable("language", "Language (en, ru, kk, hy, ky, tg)", "string"),
    Variable("text", "The text", "string"),
]
COMMENT_VARIABLES = [
    WAVE,
    Variable("pseudonym", "Pseudonym of the response (as in the ratings)", "string"),
    _category("panel", "Panel (capital) of the commenting expert", "panel"),
    Variable("block", "Block (page) number the comment is on", "integer"),
    HOLDER,
    SUBJECT,
    PERSPECTIVE,
    Variable("text", "The expert's comment, cleared for release by a panel admin", "string"),
]


def frame_source(
    *,
    wave: Wave,
    table: str,
    run: AggregationRun,
    variables: list[Variable],
    frame: Callable[[], pd.DataFrame],
    generated_at: datetime,
    label_sets: dict,
) -> ExportSource:
    """An export source over one frame (the release's smaller tables fit in memory)."""
    whole = _typed(frame(), variables)
    return ExportSource(
        wave=wave,
        table=table,
        run=run,
        variables=variables,
        label_sets=label_sets,
        rows=len(whole),
        generated_at=generated_at,
        chunks=lambda: iter([whole]),
        pinned=True,
    )


def _typed(frame: pd.DataFrame, variables: list[Variable]) -> pd.DataFrame:
    """The frame with the variables' columns, in their order, typed as the writers expect."""
    typed = {}
    for variable in variables:
        column = frame[variable.name] if variable.name in frame else pd.Series(dtype=object)
        if variable.kind == "category":
            typed[variable.name] = column.astype(np.int64)
        elif variable.kind == "integer":
            typed[variable.name] = pd.array(column.to_numpy(dtype=object), dtype="Int64")
        elif variable.kind == "float":
            typed[variable.name] = pd.to_numeric(column).astype("float64")
        elif variable.kind == "boolean":
            typed[variable.name] = column.astype(bool)
        elif variable.kind == "string":
            typed[variable.name] = column.fillna("").astype(str).astype(object)
        else:
            typed[variable.name] = column.astype(object)
    return pd.DataFrame(typed, columns=[variable.name for variable in variables])


def _codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Panel ids with the pooled panel as 0, perspectives as their codes."""
    if "panel" in frame:
        frame["panel"] = frame["panel"].fillna(POOLED_PANEL_CODE).astype(np.int64)
    if "perspective" in frame:
        frame["perspective"] = frame["perspective"].map(PERSPECTIVE_CODES).astype(np.int64)
    return frame


def _rows(queryset, **columns) -> pd.DataFrame:
    """``queryset``'s values as a frame with the given columns (name → field expression)."""
    records = list(queryset.order_by().values_list(*columns.values()))
    return pd.DataFrame.from_records(records, columns=list(columns))


def reliability_frame(run: AggregationRun, estimator: str = ESTIMATOR_NAME) -> pd.DataFrame:
    frame = _rows(
        ReliabilityResult.objects.filter(run=run, estimator=estimator),
        panel="panel_id",
        block="block__order",
        holder="block__holder_id",
        subject="block__subject_id",
        perspective="block__perspective",
        n_raters="n_raters",
        n_units="n_units",
        alpha_interval="alpha_interval",
        alpha_ordinal="alpha_ordinal",
        icc1="icc1",
        icc1k="icc1k",
        **{
            f"{coefficient}_ci_{bound}": f"{coefficient}_ci_{bound}"
            for coefficient in RELIABILITY_COEFFICIENTS
            for bound in ("low", "high")
        },
    )
    frame.insert(0, "wave", run.wave.slug)
    return _codes(frame).sort_values(["panel", "block"], kind="stable")


def wave_changes_frame(run: AggregationRun) -> pd.DataFrame:
    frame = _rows(
        WaveChangeResult.objects.filter(run=run),
        previous_wave="previous_run__wave__slug",
        panel="panel_id",
        holder="holder_id",
        subject="subject_id",
        perspective="perspective",
        role="role_id",
        n_t="n_t",
        mean_t="mean_t",
        n_prev="n_prev",
        mean_prev="mean_prev",
        diff="diff",
        ci_low="ci_low",
        ci_high="ci_high",
        p_value="p_value",
    )
    frame.insert(0, "wave", run.wave.slug)
    return _codes(frame)


def trend_runs(run: AggregationRun) -> list[AggregationRun]:
    """The newest complete run of every wave opened before the run's wave, then the run."""
    wave = run.wave
    earlier = (
        Wave.objects.filter(opens_at__lt=wave.opens_at).exclude(pk=wave.pk).order_by("opens_at")
        if wave.opens_at
        else Wave.objects.none()
    )
    runs = [run_latest_complete(wave=other) for other in earlier]
    return [*(r for r in runs if r is not None), run]


def trends_frame(run: AggregationRun) -> pd.DataFrame:
    runs = trend_runs(run)
    frame = _rows(
        CellResult.objects.filter(run__in=runs, estimator=ESTIMATOR_NAME).annotate(
            opens=F("run__wave__opens_at")
        ),
        wave="run__wave__slug",
        wave_opens_on="opens",
        run="run_id",
        panel="panel_id",
        holder="holder_id",
        subject="subject_id",
        perspective="perspective",
        role="role_id",
        n="n",
        mean="mean",
        sd="sd",
        ci_low="ci_low",
        ci_high="ci_high",
    )
    frame["wave_opens_on"] = [
        moment.date() if moment else None for moment in frame["wave_opens_on"]
    ]
    frame = _codes(frame)
    return frame.sort_values(
        ["holder", "subject", "perspective", "role", "panel", "wave_opens_on"], kind="stable"
    )


def _stata_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)[:STATA_NAME_MAX]


def instrument_frame(wave: Wave) -> pd.DataFrame:
    """One row per item, with the name of its column in the wide ratings."""
    items = list(
        Item.objects.filter(block__wave=wave)
        .order_by("block__order", "order", "pk")
        .values_list(
            "pk",
            "code",
            "block__order",
            "order",
            "block__holder_id",
            "block__subject_id",
            "block__perspective",
            "role_id",
            "role__code",
            "block__scale__min_value",
            "block__scale__max_value",
            "block_id",
        )
    )
    panels: dict[int, list[str]] = {}
    for block_id, code in wave.blocks.order_by("pk", "panels__code").values_list(
        "pk", "panels__code"
    ):
        if code:
            panels.setdefault(block_id, []).append(code)
    rows, taken = [], set()
    for (
        pk,
        code,
        block,
        order,
        holder,
        subject,
        perspective,
        role,
        role_code,
        low,
        high,
        bid,
    ) in items:
        name = _stata_name(f"b{block}_{role_code}")
        suffix = 2
        while name in taken:  # truncated names that collide
            name = _stata_name(f"b{block}_{role_code}")[: STATA_NAME_MAX - 3] + f"_{suffix}"
            suffix += 1
        taken.add(name)
        rows.append(
            (
                pk,
                wave.slug,
                code,
                name,
                block,
                order,
                holder,
                subject,
                perspective,
                role,
                low,
                high,
                " ".join(panels.get(bid, [])),
            )
        )
    columns = ["item_id", *(variable.name for variable in INSTRUMENT_VARIABLES)]
    return _codes(pd.DataFrame.from_records(rows, columns=columns))


def _text_rows(wave: Wave) -> list[tuple]:
    """(owner, code, field, language, text, status) of every text the wave's instrument uses."""
    items = Item.objects.filter(block__wave=wave)
    owners = {
        "wave": ("wave", "slug", InstrumentText.objects.filter(wave=wave)),
        "block": ("block", "order", InstrumentText.objects.filter(block__wave=wave)),
        "actor": (
            "actor",
            "code",
            InstrumentText.objects.filter(actor__in=_wave_actor_ids(wave)),
        ),
        "role": (
            "role",
            "code",
            InstrumentText.objects.filter(role__in=items.values("role_id")),
        ),
        "panel": (
            "panel",
            "code",
            InstrumentText.objects.filter(panel__blocks__wave=wave).distinct(),
        ),
        "scale": (
            "scale",
            "name",
            InstrumentText.objects.filter(scale__blocks__wave=wave).distinct(),
        ),
    }
    rows = []
    for owner, (field, key, texts) in owners.items():
        for code, text_field, language, text, status in texts.order_by().values_list(
            f"{field}__{key}", "field", "language", "text", "status"
        ):
            rows.append((owner, str(code), text_field, language, text, status))
    for code, fielded in items.order_by().values_list("code", "fielded_texts"):
        for language, texts in sorted((fielded or {}).items()):
            for text_field, text in sorted(texts.items()):
                rows.append(("item", code, text_field, language, text, "fielded"))
    return sorted(set(rows))


def _wave_actor_ids(wave: Wave) -> set[int]:
    pairs = wave.blocks.values_list("holder_id", "subject_id")
    return {actor for pair in pairs for actor in pair} | set(
        wave.blocks.values_list("panels__actor_id", flat=True)
    ) - {None}


def instrument_texts_frame(wave: Wave) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        _text_rows(wave), columns=["owner", "code", "field", "language", "text", "status"]
    )
    frame.insert(0, "wave", wave.slug)
    return frame


def vignettes_frame(wave: Wave) -> pd.DataFrame:
    """The texts of the actors of kind ``vignette`` the wave asks about; none where that kind
    does not exist (the table keeps its columns)."""
    columns = [variable.name for variable in VIGNETTE_VARIABLES]
    if VIGNETTE_KIND not in set(Actor.Kind):
        return pd.DataFrame(columns=columns)
    texts = InstrumentText.objects.filter(
        actor__kind=VIGNETTE_KIND, actor__in=_wave_actor_ids(wave)
    ).order_by("actor__code", "field", "language")
    frame = pd.DataFrame.from_records(
        list(texts.values_list("actor__code", "field", "language", "text")),
        columns=["code", "field", "language", "text"],
    )
    frame.insert(0, "wave", wave.slug)
    return frame[columns]


def comments_frame(wave: Wave, response_ids: frozenset[int]) -> pd.DataFrame:
    """The cleared comments of the release's responses, ordered by pseudonym and block."""
    comments = BlockComment.objects.filter(
        block__wave=wave, review=BlockComment.Review.CLEARED, response_id__in=response_ids
    ).order_by("response__pseudonym", "block__order")
    frame = _rows(
        comments,
        pseudonym="response__pseudonym",
        panel="response__panel_id",
        block="block__order",
        holder="block__holder_id",
        subject="block__subject_id",
        perspective="block__perspective",
        text="text",
    )
    frame.insert(0, "wave", wave.slug)
    return _codes(frame)


WIDE_KEYS = ["wave", "pseudonym", "panel", "submitted_on", "source", "round"]


def ratings_wide(long: ExportSource, instrument: pd.DataFrame) -> ExportSource:
    """One row per response: its keys, then one column per item (the value; empty when the
    expert could not judge or was not asked). Built from the pinned long ratings."""
    ratings = long.frame()
    key = ["holder", "subject", "perspective", "role"]
    names = instrument.set_index(key)["wide_name"]
    column = names.reindex(pd.MultiIndex.from_frame(ratings[key])).to_numpy()
    ratings = ratings.assign(item=column)
    keys = ratings.drop_duplicates("pseudonym")[WIDE_KEYS].set_index("pseudonym")
    values = ratings.pivot_table(
        index="pseudonym", columns="item", values="value", aggfunc="first", dropna=False
    )
    values = values.reindex(columns=list(instrument["wide_name"]))
    frame = keys.join(values).reset_index()[WIDE_KEYS + list(instrument["wide_name"])]
    by_name = {variable.name: variable for variable in long.variables}
    variables = [by_name[name] for name in WIDE_KEYS]
    for row in instrument.itertuples(index=False):
        variables.append(
            Variable(
                row.wide_name,
                f"Value of item {row.item} (block {row.block})"[:80],
                "integer",
                nullable=True,
                note=f"Item {row.item} of block {row.block}: the rating; empty where the expert "
                "could not judge or was not asked (see the long table's cannot_judge).",
            )
        )
    whole = _typed(frame, variables)
    return replace(long, table="ratings_wide", variables=variables, rows=len(whole),
                   chunks=lambda: iter([whole]))  # fmt: skip


def release_sources(*, wave: Wave, run: AggregationRun, generated_at: datetime) -> dict:
    """Every table of the release, in the order of the bundle, as export sources."""
    pooled = label_sets_load(pooled_panel=True)
    plain = label_sets_load(pooled_panel=False)
    long = export_source(wave=wave, table="ratings", run_id=run.pk)
    instrument = instrument_frame(wave)
    response_ids = frozenset(run.input_responses)

    def made(table, variables, frame, labels=pooled):
        return frame_source(
            wave=wave,
            table=table,
            run=run,
            variables=variables,
            frame=frame,
            generated_at=generated_at,
            label_sets=labels,
        )

    def reliability(estimator: str = ESTIMATOR_NAME) -> ExportSource:
        table = "reliability" if estimator == ESTIMATOR_NAME else f"reliability_{estimator}"
        return made(table, RELIABILITY_VARIABLES, lambda: reliability_frame(run, estimator), plain)

    return {
        "ratings": long,
        "ratings_wide": ratings_wide(long, instrument),
        "cells": export_source(wave=wave, table="cells", run_id=run.pk),
        "comparisons": export_source(wave=wave, table="comparisons", run_id=run.pk),
        "reliability": reliability(),
        "wave_changes": made(
            "wave_changes", WAVE_CHANGE_VARIABLES, lambda: wave_changes_frame(run)
        ),
        "trends": made("trends", TREND_VARIABLES, lambda: trends_frame(run)),
        "instrument": made("instrument", INSTRUMENT_VARIABLES, lambda: instrument, plain),
        "instrument_texts": made(
            "instrument_texts", TEXT_VARIABLES, lambda: instrument_texts_frame(wave), plain
        ),
        "vignettes": made("vignettes", VIGNETTE_VARIABLES, lambda: vignettes_frame(wave), plain),
        "comments": made(
            "comments", COMMENT_VARIABLES, lambda: comments_frame(wave, response_ids), plain
        ),
        **corrected_sources(wave=wave, run=run, made=made, reliability_source=reliability),
    }
