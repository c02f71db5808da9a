"""Saved comparisons stored under each corrected estimator, and the research questions'
check of whether a corrected estimator disagrees with the plain means."""

import pytest

from aggregation import engine
from aggregation.models import ComparisonResult
from aggregation.research_questions import (
    research_corrected_load,
    research_questions_bundle_table,
    research_results_load,
    research_versions,
    waves_in_order,
)
from aggregation.saved_comparisons import saved_comparison_create
from aggregation.services import aggregation_run_wave
from reports.research_questions import report_names, research_question_sections

pytestmark = pytest.mark.django_db
CORRECTED = ("aldrich_mckelvey", "ordinal_irt", "vignette_cscores")
NUMBERS = ["diff", "diff_ci_low", "diff_ci_high", "p_value", "p_adjusted", "prob_sign"]


def _definition(left: engine.Selector, right: engine.Selector) -> dict[str, str]:
    columns = {**engine.selector_columns("left", left), **engine.selector_columns("right", right)}
    return {**columns, "left_estimator": "plain_means", "right_estimator": "plain_means"}


def _significant(p_adjusted, low, high):
    if p_adjusted is not None:
        return p_adjusted < 0.05
    return low > 0 or high < 0


def test_saved_comparison_is_stored_under_each_corrected_estimator_with_its_check(
    vignette_wave,
):
    left, right = engine.PRESETS["ascribed_vs_conceived"]("ARM", {"RUS": "MOW", "ARM": "YER"})
    saved_comparison_create(
        slug="ascribed-arm",
        name="Ascribed",
        definition=_definition(left, right),
        question="ascribed",
    )
    run = aggregation_run_wave(wave_id=vignette_wave.pk)

    fields = ["role__code", *NUMBERS, "estimator_version"]
    expected = {}
    for name in CORRECTED:
        saved = list(
            ComparisonResult.objects.filter(
                run=run, estimator=name, saved_version__saved_comparison__slug="ascribed-arm"
            )
            .order_by("role__code")
            .values_list(*fields)
        )
        preset = list(
            ComparisonResult.objects.filter(
                run=run, estimator=name, preset="ascribed_vs_conceived", subject__code="ARM"
            )
            .order_by("role__code")
            .values_list(*fields)
        )
        assert len(saved) == 3, name
        assert _close(saved, preset), name

    # The check by hand from the stored rows: sign or significance against the plain means.
    plain = {
        row["role__code"]: row
        for row in ComparisonResult.objects.filter(
            run=run, estimator="plain_means", saved_version__saved_comparison__slug="ascribed-arm"
        ).values("role__code", "diff", "p_adjusted", "diff_ci_low", "diff_ci_high")
    }
    for row in ComparisonResult.objects.filter(
        run=run, estimator__in=CORRECTED, saved_version__saved_comparison__slug="ascribed-arm"
    ).values("role__code", "estimator", "diff", "p_adjusted", "diff_ci_low", "diff_ci_high"):
        base = plain[row["role__code"]]
        flags = []
        if (row["diff"] > 0) != (base["diff"] > 0):
            flags.append("sign differs")
        own = _significant(row["p_adjusted"], row["diff_ci_low"], row["diff_ci_high"])
        if own != _significant(base["p_adjusted"], base["diff_ci_low"], base["diff_ci_high"]):
            flags.append("significance differs")
        text = f"{row['estimator']}: {', '.join(flags) or 'agrees'}"
        expected.setdefault(row["role__code"], []).append(text)

    table = research_questions_bundle_table()
    table = table.loc[table["comparison"] == "ascribed-arm"]
    assert set(table["estimator"]) == {"plain_means"}
    got = dict(zip(table["role"], table["corrected_checks"], strict=True))
    assert got == {role: "; ".join(sorted(texts)) for role, texts in expected.items()}
    disagrees = dict(zip(table["role"], table["corrected_estimator_disagrees"], strict=True))
    for role, texts in expected.items():
        assert disagrees[role] == any("differs" in text for text in texts)
    assert set(table["family"]) == {"comparison"}
    assert set(table["family_size"]) == {3}

    # The page's sentence, rebuilt by hand from the same flags.
    names = report_names()
    labels = {
        "aldrich_mckelvey": "Aldrich–McKelvey",
        "ordinal_irt": "Ordinal IRT",
        "vignette_cscores": "Vignette C-scores",
    }
    by_estimator = {name: {"sign": [], "significance": []} for name in CORRECTED}
    for role in ("protectee", "independent", "faithful_ally"):  # the roles' typology order
        for text in expected[role]:
            estimator = text.split(":")[0]
            for flag in ("sign", "significance"):
                if f"{flag} differs" in text:
                    by_estimator[estimator][flag].append(names.roles[role])
    agree = [labels[n] for n in CORRECTED if not any(by_estimator[n].values())]
    parts = []
    if agree:
        parts.append(f"{' and '.join(agree)} agree" if len(agree) > 1 else f"{agree[0]} agrees")
    for name in CORRECTED:
        differs = [
            f"{flag} differs in {', '.join(roles)}"
            for flag, roles in by_estimator[name].items()
            if roles
        ]
        if differs:
            parts.append(f"{labels[name]}: {', '.join(differs)}")
    versions = research_versions()
    sections = research_question_sections(
        research_results_load(versions=versions),
        waves_in_order(),
        names,
        research_corrected_load(versions=versions),
    )
    (card,) = [c for s in sections for c in s.cards if c.slug == "ascribed-arm"]
    assert card.corrected_note == "; ".join(parts) + "."


def _close(saved, preset) -> bool:
    assert len(saved) == len(preset)
    for a, b in zip(saved, preset, strict=True):
        assert a[0] == b[0] and a[-1] == b[-1]
        assert list(a[1:-1]) == pytest.approx(list(b[1:-1]), nan_ok=True)
    return True
