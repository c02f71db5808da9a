"""Reads of Delphi studies: a closed round's figures, the expert page's feedback, the report.

A round's figures are computed once, when the round is closed and the next opens or the
study ends (``surveys.delphi``), from the submitted ratings, with the pure functions of
``aggregation.consensus``, and stored on the round as numbers keyed by item code and panel
code: no expert, invitation or pseudonym appears in them. The expert page and the report
read them back.
"""

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from aggregation.consensus import (
    ConsensusCriterion,
    item_consensus,
    kendalls_w,
    stability,
)
from surveys.models import (
    DelphiRound,
    DelphiStudy,
    Invitation,
    Item,
    Rating,
    Response,
    RevisionJustification,
)
from surveys.selectors import CANNOT_JUDGE
from surveys.texts.selectors import text_or_code

ALL_PANELS = "all"
PRIMARY_ROUND = 1


def wave_round(wave_path: str = "") -> Coalesce:
    """The Delphi round of a wave as a query expression: its number in its study, and 1
    for a wave that is no round of a study (an ordinary wave is its own first round).

    ``wave_path`` leads from the queried model to the wave (``"response__wave"`` from a
    rating); empty when the wave itself is queried.
    """
    path = f"{wave_path}__delphi_round__number" if wave_path else "delphi_round__number"
    return Coalesce(F(path), Value(PRIMARY_ROUND))


def waves_primary(wave_path: str = "") -> Q:
    """The waves of the primary data: ordinary waves and round 1 of Delphi studies.

    Later rounds show experts the group's answers first, so their agreement is partly
    conformity (Woudenberg 1991): they are reported beside round 1, never in a series of
    waves (the previous wave of a change, a trend) as if they were a wave of their own.
    """
    prefix = f"{wave_path}__" if wave_path else ""
    return Q(**{f"{prefix}delphi_round__isnull": True}) | Q(
        **{f"{prefix}delphi_round__number": PRIMARY_ROUND}
    )


def _number(value: float) -> float | None:
    """A float for JSON: NaN (undefined) is stored as null."""
    return None if value is None or math.isnan(value) else round(float(value), 6)


def _round_ratings(round_: DelphiRound) -> pd.DataFrame:
    """The round's submitted ratings: expert id (for pairing only), panel, block, item, value.

    The expert id is read while the round is still linked and never leaves this module's
    computations; *cannot judge* is NaN.
    """
    rows = (
        Rating.objects.filter(
            response__wave_id=round_.wave_id, response__status=Response.Status.SUBMITTED
        )
        .order_by()
        .values_list(
            "response__invitation__expert_id",
            "response__panel__code",
            "item__block__order",
            "item__code",
            "value",
        )
        .iterator()
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["expert", "panel", "block", "item", "value"]
    )
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    return frame


def _figures(values, criterion: ConsensusCriterion) -> dict:
    result = item_consensus(values, criterion=criterion)
    return {
        "n": result.n,
        "median": _number(result.median),
        "q1": _number(result.q1),
        "q3": _number(result.q3),
        "iqr": _number(result.iqr),
        "share_near_median": _number(result.share_near_median),
        "consensus": result.consensus,
    }


def _stability_figures(pairs: pd.DataFrame) -> dict:
    result = stability(pairs["value_previous"], pairs["value"])
    return {
        "pairs": result.pairs,
        "changed": result.changed,
        "share_changed": _number(result.share_changed),
        "wilcoxon": _number(result.statistic),
        "p": _number(result.p),
    }


def study_criterion(study: DelphiStudy) -> ConsensusCriterion:
    return ConsensusCriterion(iqr_max=study.consensus_iqr_max, share_min=study.consensus_share_min)


def delphi_results_compute(*, round_: DelphiRound) -> dict:
    """A closed round's figures, per item, in each panel and in all panels pooled.

    Consensus by the study's criterion; stability against the previous round on the pairs of
    the same expert's answers (while the rounds are still linked); Kendall's W per block over
    the experts who rated every item of the block.
    """
    study = round_.study
    criterion = study_criterion(study)
    frame = _round_ratings(round_)
    previous_round = study.rounds.filter(number=round_.number - 1).first()
    paired = None
    if previous_round is not None and not frame.empty:
        before = _round_ratings(previous_round)[["expert", "item", "value"]]
        paired = frame.dropna(subset=["expert"]).merge(
            before.dropna(subset=["expert"]), on=["expert", "item"], suffixes=("", "_previous")
        )
    items: dict[str, dict] = {}
    for code, rows in frame.groupby("item", sort=True):
        entry = {
            "block": int(rows["block"].iloc[0]),
            "scopes": {ALL_PANELS: _figures(rows["value"], criterion)},
        }
        for panel, panel_rows in rows.groupby("panel", sort=True):
            entry["scopes"][panel] = _figures(panel_rows["value"], criterion)
        if paired is not None:
            item_pairs = paired[paired["item"] == code]
            entry["stability"] = {ALL_PANELS: _stability_figures(item_pairs)}
            for panel, panel_pairs in item_pairs.groupby("panel", sort=True):
                entry["stability"][panel] = _stability_figures(panel_pairs)
        items[code] = entry
    concordance = {}
    for block, rows in frame.groupby("block", sort=True):
        matrix = rows.pivot_table(index="item", columns="expert", values="value", aggfunc="first")
        matrix = matrix.dropna(axis=1, how="any")
        result = kendalls_w(matrix.to_numpy(dtype=float))
        concordance[str(block)] = {
            "w": _number(result.w),
            "chi2": _number(result.chi2),
            "df": result.df,
            "p": _number(result.p),
            "raters": int(matrix.shape[1]),
        }
    changed = paired is not None and not paired.empty
    return {
        "round": round_.number,
        "respondents": int(
            Response.objects.filter(
                wave_id=round_.wave_id, status=Response.Status.SUBMITTED
            ).count()
        ),
        "items": items,
        "concordance": concordance,
        "stability_overall": (
            _stability_figures(paired) if changed else None  # every item's pairs together
        ),
    }


# The expert's page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DelphiFeedback:
    """What round k shows beside one item: the expert's round k − 1 answer and the group's."""

    item_id: int
    language: str
    has_own: bool
    own_value: int | None
    own_cannot_judge: bool
    median: float | None
    q1: float | None
    q3: float | None
    n: int
    scale_min: int
    scale_max: int

    def needs_reason(self, value: int | None) -> bool:
        """A revised value outside [Q1, Q3] of what was shown asks for a reason."""
        if value is None or self.q1 is None or self.q3 is None:
            return False
        if self.has_own and value == self.own_value:
            return False
        return not self.q1 <= value <= self.q3


@dataclass(frozen=True)
class DelphiPage:
    """The Delphi part of a round-k questionnaire (k ≥ 2)."""

    study: DelphiStudy
    round_number: int
    scope: str
    required: bool
    feedback: dict[int, DelphiFeedback]


def delphi_page(*, invitation: Invitation, language: str) -> DelphiPage | None:
    """The feedback of the round an expert's link opens, or None (no study, or round 1).

    No query for a wave that is no later round (the round is read with the link); else
    four: the study, the previous round's stored figures, the expert's panel and own answers
    of the previous round (through the expert's invitations, linked while the study runs),
    and the items.
    """
    try:
        round_ = invitation.wave.delphi_round  # read with the link (invitation_resolve)
    except DelphiRound.DoesNotExist:
        return None
    if round_.number < 2:
        return None
    study = round_.study
    previous = DelphiRound.objects.filter(study=study, number=round_.number - 1).first()
    if previous is None:
        return None
    own = {
        code: (value, cannot_judge)
        for code, value, cannot_judge in Rating.objects.filter(
            response__wave_id=previous.wave_id,
            response__invitation__expert_id=invitation.expert_id,
        )
        .order_by()
        .values_list("item__code", "value", "cannot_judge")
    }
    panel_code = invitation.expert.panel.code
    scope = ALL_PANELS if study.feedback_scope == DelphiStudy.FeedbackScope.ALL else panel_code
    feedback = {}
    items = (
        invitation.wave.blocks.filter(panels=invitation.expert.panel_id)
        .values_list("items__id", "items__code", "scale__min_value", "scale__max_value")
        .order_by()
    )
    for item_id, code, scale_min, scale_max in items:
        if item_id is None:
            continue
        figures = previous.results.get("items", {}).get(code, {}).get("scopes", {}).get(scope)
        value, cannot_judge = own.get(code, (None, False))
        feedback[item_id] = DelphiFeedback(
            item_id=item_id,
            language=language,
            has_own=code in own,
            own_value=value,
            own_cannot_judge=cannot_judge,
            median=figures["median"] if figures else None,
            q1=figures["q1"] if figures else None,
            q3=figures["q3"] if figures else None,
            n=figures["n"] if figures else 0,
            scale_min=scale_min,
            scale_max=scale_max,
        )
    return DelphiPage(
        study=study,
        round_number=round_.number,
        scope=scope,
        required=study.justification == DelphiStudy.Justification.REQUIRED,
        feedback=feedback,
    )


def _plain(number: float | None) -> str:
    """A figure as the page's language writes it (3.5, 3,5), whole numbers without decimals."""
    if number is None:
        return "–"
    if float(number).is_integer():
        return str(int(number))
    return number_format(round(number, 2), use_l10n=True)


def feedback_context(feedback: DelphiFeedback, *, scope_label: str, required: bool) -> dict:
    """Finished texts and positions for one item's feedback box (``_delphi_feedback.html``)."""
    span = max(feedback.scale_max - feedback.scale_min, 1)

    def percent(value: float | None) -> float | None:
        if value is None:
            return None
        return round(100 * (value - feedback.scale_min) / span, 1)

    if not feedback.has_own:
        own_text = gettext("You did not answer this question in the previous round.")
    elif feedback.own_cannot_judge:
        own_text = gettext("Your previous answer: cannot judge.")
    else:
        own_text = gettext("Your previous answer: %(value)s.") % {"value": feedback.own_value}
    if feedback.median is None:
        group_text = gettext("%(group)s: no answers in the previous round.") % {
            "group": scope_label
        }
    else:
        group_text = gettext(
            "%(group)s in the previous round: median %(median)s, middle half of the answers "
            "(interquartile range) from %(q1)s to %(q3)s; answers: %(n)s."
        ) % {
            "group": scope_label,
            "median": _plain(feedback.median),
            "q1": _plain(feedback.q1),
            "q3": _plain(feedback.q3),
            "n": feedback.n,
        }
    reason_label = (
        gettext("If your answer is outside the range shown, say briefly why (required).")
        if required
        else gettext("If your answer is outside the range shown, you may say briefly why.")
    )
    return {
        "item_id": feedback.item_id,
        "own_text": own_text,
        "group_text": group_text,
        "can_keep": feedback.has_own,
        # The value of the item's radio button that is the previous answer: the page's
        # script keeps it on the device (offline too) instead of posting "keep".
        "keep_value": (
            CANNOT_JUDGE
            if feedback.own_cannot_judge
            else ("" if feedback.own_value is None else str(feedback.own_value))
        ),
        "reason_label": reason_label,
        "q1_left": percent(feedback.q1),
        "iqr_width": (
            None if feedback.q1 is None else round(percent(feedback.q3) - percent(feedback.q1), 1)
        ),
        "median_left": percent(feedback.median),
        "own_left": percent(feedback.own_value) if feedback.own_value is not None else None,
    }


# The report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """One item in one scope across the rounds of a study."""

    code: str
    scope: str
    rounds: list[dict | None]
    converging: bool | None


def delphi_report_rows(*, study: DelphiStudy) -> tuple[list[DelphiRound], list[ReportRow]]:
    """Every item and scope with each round's stored figures, and whether the IQR narrowed.

    Converging: the IQR of the latest round with figures is smaller than round 1's (None
    when only one round has figures).
    """
    rounds = list(study.rounds.select_related("wave").order_by("number"))
    grouped: dict[tuple[str, str], list[dict | None]] = defaultdict(lambda: [None] * len(rounds))
    for position, round_ in enumerate(rounds):
        for code, entry in round_.results.get("items", {}).items():
            for scope, figures in entry.get("scopes", {}).items():
                grouped[(code, scope)][position] = {
                    **figures,
                    "stability": entry.get("stability", {}).get(scope),
                }
    rows = []
    for (code, scope), per_round in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], kv[0][1] != ALL_PANELS, kv[0][1])
    ):
        iqrs = [figures["iqr"] for figures in per_round if figures and figures["iqr"] is not None]
        converging = None if len(iqrs) < 2 else bool(np.less(iqrs[-1], iqrs[0]))
        rows.append(ReportRow(code=code, scope=scope, rounds=per_round, converging=converging))
    return rounds, rows


@dataclass(frozen=True)
class JustificationRow:
    round_number: int
    code: str
    panel: str
    value: int | None
    text: str


def delphi_justifications(*, study: DelphiStudy) -> list[JustificationRow]:
    """The reasons experts gave for answers outside the IQR, by round, item and panel.

    No pseudonym, expert or time: the item, the panel, the answer and the text.
    """
    records = (
        RevisionJustification.objects.filter(
            response__wave__delphi_round__study=study, response__status=Response.Status.SUBMITTED
        )
        .order_by(
            "response__wave__delphi_round__number", "item__code", "response__panel__code", "text"
        )
        .values_list(
            "response__wave__delphi_round__number",
            "item__code",
            "response__panel__code",
            "response_id",
            "item_id",
            "text",
        )
    )
    records = list(records)
    values = dict(
        ((response_id, item_id), value)
        for response_id, item_id, value in Rating.objects.filter(
            response_id__in={r[3] for r in records}
        )
        .order_by()
        .values_list("response_id", "item_id", "value")
    )
    return [
        JustificationRow(
            round_number=number,
            code=code,
            panel=panel,
            value=values.get((response_id, item_id)),
            text=text,
        )
        for number, code, panel, response_id, item_id, text in records
    ]


def delphi_feedback_html(*, page: DelphiPage, response: Response) -> dict[int, SafeString]:
    """Each item's feedback box, rendered in the active language, by item id."""
    reasons = dict(
        RevisionJustification.objects.filter(response=response)
        .order_by()
        .values_list("item_id", "text")
    )
    scope_label = gettext("All panels") if page.scope == ALL_PANELS else gettext("Your panel")
    html = {}
    for item_id, feedback in page.feedback.items():
        context = feedback_context(feedback, scope_label=scope_label, required=page.required)
        context["reason"] = reasons.get(item_id, "")
        html[item_id] = render_to_string("surveys/_delphi_feedback.html", {"fb": context})
    return html


def delphi_role_names(*, study: DelphiStudy) -> dict[str, str]:
    """Item code → the role's English name and its block, for the report: "Protectee
    (expectation RUS→ARM)", since one role may be asked in several blocks."""
    rows = (
        Item.objects.filter(block__wave__delphi_round__study=study)
        .order_by()
        .annotate(role_name=text_or_code("role", "name", "en", ref="role_id", default="role__code"))
        .values_list(
            "code", "role_name", "block__perspective", "block__holder__code", "block__subject__code"
        )
        .distinct()
    )
    return {
        code: f"{name} ({perspective} {holder}→{subject})"
        for code, name, perspective, holder, subject in rows
    }
