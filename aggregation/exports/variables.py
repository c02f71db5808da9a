"""The variables of the exported tables and the value labels of their categorical ones.

A variable is one column of an export: name, label (Stata's 80 characters), kind and, for a
categorical variable, the set of value labels it takes its codes from (actors, roles, panels,
perspectives, sources). Codes are the database ids, so exports of several waves merge; the
pooled panel is 0 and perspectives are 1–3.
"""

from dataclasses import dataclass

from surveys.models import Actor, Panel, Perspective, Response, Role
from surveys.texts.selectors import text_or_code

POOLED_PANEL_CODE = 0
POOLED_PANEL = "ALL"
PERSPECTIVE_CODES = {"conception": 1, "expectation": 2, "performance": 3}
SOURCE_CODES = {"web": 1, "import": 2}
# Value labels name actors, roles and cities in English (the code where a name is missing).
LABEL_LANGUAGE = "en"


# Variables and value labels ------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One column of an export.

    ``kind`` is ``string``, ``integer``, ``float``, ``boolean``, ``date`` or ``category``;
    a category names its set of value labels in ``labels``. ``nullable`` integers are
    stored as floats in ``.dta`` and ``.sav`` (their only missing value is the system one).
    ``label`` fits Stata's 80 characters; ``note`` says more, in the codebook.
    """

    name: str
    label: str
    kind: str
    labels: str = ""
    nullable: bool = False
    note: str = ""


def _float(name: str, label: str) -> Variable:
    return Variable(name, label, "float", nullable=True)


WAVE = Variable("wave", "Survey wave (slug)", "string")
RATINGS_VARIABLES = [
    WAVE,
    Variable("pseudonym", "Pseudonym of the response (one expert in one wave)", "string"),
    Variable("panel", "Panel (capital) of the rating expert", "category", "panel"),
    Variable("holder", "Actor whose view the item asks about", "category", "actor"),
    Variable("subject", "Actor whose role the item asks about", "category", "actor"),
    Variable(
        "perspective",
        "Perspective: conception, expectation, performance",
        "category",
        "perspective",
    ),
    Variable("role", "Role of the typology", "category", "role"),
    Variable(
        "value", "Rating on the item's scale; missing when cannot judge", "integer", nullable=True
    ),
    Variable("cannot_judge", "1 if the expert chose cannot judge, else 0", "boolean"),
    Variable(
        "confidence", "Expert's confidence, 1 (low) to 5 (high); optional", "integer", nullable=True
    ),
    Variable("submitted_on", "Date the response was submitted (UTC, no time)", "date"),
    Variable(
        "source",
        "How the response came in: web (the form) or import (a file)",
        "category",
        "source",
        note="web: answered in the survey's web form; import: ratings collected outside the "
        "form (paper, e-mail, another tool) and imported from a file by a panel admin.",
    ),
    Variable(
        "round",
        "Delphi round of the wave: 1 = primary data (every ordinary wave is 1)",
        "integer",
        note="1 for an ordinary wave and for round 1 of a Delphi study: the primary data. 2 "
        "and later: a later round of a Delphi study, itself a wave (its own slug), answered by "
        "the same experts after seeing their previous answer and the previous round's median "
        "and IQR; its agreement is partly conformity. Each export holds one wave, so rounds "
        "never mix in a file; the cells and comparisons of a later round are computed from "
        "that round alone, later rounds are left out of the changes between waves and the "
        "trends, and merged files must keep round 1 as the estimate, reporting later rounds "
        "beside it, never pooled with it.",
    ),
]
SUBMITTED_ON_LABELS = {
    "month": "Month submitted (its first day, UTC); empty in groups below k",
    "week": "Week submitted (its Monday, UTC); empty in groups below k",
    "day": "Day submitted (UTC, no time); empty in groups below k",
    "none": "Submission date: not exported (always empty)",
}
CELL_VARIABLES = [
    WAVE,
    Variable("panel", "Panel of the raters; ALL pools every panel", "category", "panel"),
    Variable("holder", "Actor whose view the item asks about", "category", "actor"),
    Variable("subject", "Actor whose role the item asks about", "category", "actor"),
    Variable(
        "perspective",
        "Perspective: conception, expectation, performance",
        "category",
        "perspective",
    ),
    Variable("role", "Role of the typology", "category", "role"),
    Variable("n", "Number of ratings with a value", "integer"),
    Variable("n_cannot_judge", "Number of cannot-judge answers", "integer"),
    _float("mean", "Mean rating"),
    _float("median", "Median rating"),
    _float("sd", "Standard deviation"),
    _float("se", "Standard error of the mean"),
    _float("ci_low", "95% confidence interval of the mean, lower bound"),
    _float("ci_high", "95% confidence interval of the mean, upper bound"),
    _float("weighted_mean", "Confidence-weighted mean"),
    _float("rwg", "Within-cell agreement r_wg (James, Demaree and Wolf 1984), truncated at 0"),
    _float("rwg_raw", "Within-cell agreement r_wg before truncation (negative: disagreement)"),
    Variable("rwg_truncated", "r_wg was truncated at 0 (rwg_raw below 0)", "boolean"),
    Variable(
        "estimator",
        "Estimator (plain_means, aldrich_mckelvey, ordinal_irt, vignette_cscores)",
        "string",
        note="The corrected estimators fill n, mean (their estimate) and the 95% interval "
        "only; their estimates lie on the vignette-anchored scale (C-scores: 1 to 2J+1).",
    ),
    Variable("estimator_version", "Version of the estimator", "string"),
]
COMPARISON_VARIABLES = [
    WAVE,
    Variable("preset", "Named comparison (a preset of two sides)", "string"),
    Variable("subject", "Actor the comparison is about", "category", "actor"),
    Variable("role", "Role of the typology", "category", "role"),
    Variable("left_label", "Left selector: perspective, holder to subject, panel", "string"),
    Variable("right_label", "Right selector: perspective, holder to subject, panel", "string"),
    *(
        Variable(f"{side}_{name}", f"{side.title()} side: {what}", "string")
        for side in ("left", "right")
        for name, what in (
            ("panel", "panel code (ALL: every panel pooled)"),
            ("holder", "holder of the role (actor code)"),
            ("subject", "subject of the role (actor code)"),
            ("perspective", "perspective"),
        )
    ),
    Variable(
        "method",
        "Test: welch, paired, overlapping; ordinal IRT: laplace or posterior",
        "string",
        note="welch: Welch's t, the sides rated by different experts; paired: paired t, the "
        "same experts on both sides (n_left and n_right count the complete pairs); "
        "overlapping: the partially overlapping samples t test (Derrick, Toher and White "
        "2017), one side pools every panel and the other panel's experts are in both. "
        "The ordinal IRT has no t test: laplace (fast mode, Laplace approximation) or "
        "posterior (NUTS draws). See docs/methods.md.",
    ),
    Variable(
        "n_left",
        "Left: number of ratings with a value (paired: number of pairs)",
        "integer",
        note="When method is paired, n_left = n_right = the number of experts with a value "
        "on both sides (pairs), and both sides' statistics describe those experts.",
    ),
    _float("mean_left", "Left: mean"),
    _float("sd_left", "Left: standard deviation"),
    _float("ci_low_left", "Left: 95% CI of the mean, lower bound"),
    _float("ci_high_left", "Left: 95% CI of the mean, upper bound"),
    Variable(
        "n_right",
        "Right: number of ratings with a value (paired: number of pairs)",
        "integer",
        note="When method is paired, n_right = n_left = the number of pairs.",
    ),
    _float("mean_right", "Right: mean"),
    _float("sd_right", "Right: standard deviation"),
    _float("ci_low_right", "Right: 95% CI of the mean, lower bound"),
    _float("ci_high_right", "Right: 95% CI of the mean, upper bound"),
    _float("diff", "Difference of means, left minus right"),
    _float("diff_ci_low", "95% CI of the difference, lower bound"),
    _float("diff_ci_high", "95% CI of the difference, upper bound"),
    _float("se_diff", "Standard error of the difference"),
    _float("t", "t statistic of the difference"),
    _float("df", "Degrees of freedom (Welch-Satterthwaite, pairs minus 1, or overlapping)"),
    _float("hedges_g", "Effect size, Hedges' g"),
    _float("p_value", "p-value of the difference"),
    _float("p_adjusted", "p-value, Benjamini-Hochberg adjusted within its family"),
    Variable("family_size", "Number of p-values in the Benjamini-Hochberg family", "integer"),
    Variable(
        "family",
        "Benjamini-Hochberg family: comparison (the roles of one comparison)",
        "string",
        note="comparison: p_adjusted is adjusted over the roles of one comparison (one "
        "preset, one subject). The admin reports can adjust over wave_preset instead (every "
        "test of the wave and preset, as the overview matrix shows them); their CSV "
        "downloads name the family they used. See docs/methods.md.",
    ),
    Variable("dominant_left", "Left: role with the highest mean", "string"),
    Variable("dominant_right", "Right: role with the highest mean", "string"),
    _float("profile_distance", "Distance between the two role profiles"),
    _float(
        "prob_sign",
        "Ordinal IRT: probability that the difference has the sign of its estimate",
    ),
    Variable(
        "estimator",
        "Estimator (plain_means, aldrich_mckelvey, ordinal_irt, vignette_cscores)",
        "string",
    ),
    Variable("estimator_version", "Version of the estimator", "string"),
]
VARIABLES = {
    "ratings": RATINGS_VARIABLES,
    "cells": CELL_VARIABLES,
    "comparisons": COMPARISON_VARIABLES,
}


@dataclass(frozen=True)
class ValueLabel:
    code: int
    label: str
    description: str


def _label_sets(*, pooled_panel: bool) -> dict[str, list[ValueLabel]]:
    """Integer code → text of every categorical variable: actor, role, panel and perspective.

    Codes are the database ids (stable within one installation, so exports of several waves
    merge); the pooled panel is 0 and perspectives are 1–3.
    """
    panels = [
        ValueLabel(pk, code, city)
        for pk, code, city in Panel.objects.order_by("code")
        .annotate(city=text_or_code("panel", "city", LABEL_LANGUAGE))
        .values_list("pk", "code", "city")
    ]
    if pooled_panel:
        panels.insert(0, ValueLabel(POOLED_PANEL_CODE, POOLED_PANEL, "all panels pooled"))
    return {
        "panel": panels,
        "actor": [
            ValueLabel(pk, code, name)
            for pk, code, name in Actor.objects.order_by("order", "code")
            .annotate(name=text_or_code("actor", "name", LABEL_LANGUAGE))
            .values_list("pk", "code", "name")
        ],
        "role": [
            ValueLabel(pk, code, name)
            for pk, code, name in Role.objects.order_by("order", "code")
            .annotate(name=text_or_code("role", "name", LABEL_LANGUAGE))
            .values_list("pk", "code", "name")
        ],
        "perspective": [
            ValueLabel(PERSPECTIVE_CODES[value], value, str(label))
            for value, label in Perspective.choices
        ],
        "source": [
            ValueLabel(SOURCE_CODES[value], value, str(label))
            for value, label in Response.Source.choices
        ],
    }


def label_sets_load(*, pooled_panel: bool) -> dict[str, list[ValueLabel]]:
    """The value labels of every categorical variable (``pooled_panel``: with ALL as 0)."""
    return _label_sets(pooled_panel=pooled_panel)
