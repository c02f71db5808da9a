"""The research-questions page: the study's questions answered by the stored results of the
shipped saved comparisons, grouped by question, with a sentence generated from the numbers
and the trend across waves ("is the gap widening").

Reads ``aggregation.research_questions`` (stored results only) and formats them; computes no
statistic. Every sentence is a translated template filled with stored numbers and the names
of actors, roles and cities: no text is written that the numbers do not carry. Readable by
users who may read stored comparisons (``aggregation.view_comparisonresult``: researchers and
superusers); panel admins see comparisons in the builder, limited to their panels.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aggregation import selectors
from aggregation.models import SavedComparison
from aggregation.research_questions import (
    ResearchResult,
    corrected_checks,
    research_corrected_load,
    research_questions_table,
    research_results_load,
    research_versions,
    waves_in_order,
)
from reports import formats
from reports.estimators import ESTIMATOR_LABELS
from surveys.models import Perspective

PERMISSION = "aggregation.view_comparisonresult"
FOCUS_ROLES_PER_SIDE = 2
"""Roles a sentence names per side: the two with the highest means in the latest wave."""

QUESTION_INTROS = {
    "ego_alter": gettext_lazy(
        "Moscow's view of Russia's own role (conception, Moscow panel) against what Moscow "
        "takes each ally to expect of Russia (expectation ally → Russia, Moscow panel)."
    ),
    "ascribed": gettext_lazy(
        "What Moscow expects of each ally (expectation Russia → ally, Moscow panel) against "
        "the ally's own role conception (its own panel) and against how Moscow sees the ally "
        "enact its roles (performance, Moscow panel)."
    ),
    "inter_role": gettext_lazy(
        "Two roles of Russia rated by the same experts of an ally's panel: a global role "
        "against the regional leader role, as a difference and as the correlation across "
        "experts."
    ),
    "organized_other": gettext_lazy(
        "What Moscow takes the CSTO and the EAEU to expect of Russia against what it takes "
        "Armenia and Kazakhstan to expect (Moscow panel)."
    ),
}
ESTIMATOR_NAMES = {"plain_means": gettext_lazy("plain means")}


@dataclass(frozen=True)
class Names:
    """English names of actors, roles and panels' cities (codes where a name is missing)."""

    actors: Mapping[str, str]
    roles: Mapping[str, str]
    cities: Mapping[str, str]
    panel_actor: Mapping[str, str]

    def panel(self, code: str) -> str:
        if code == "ALL":
            return _("all panels together")
        return _("%(city)s's panel") % {"city": self.cities.get(code, code)}


@dataclass(frozen=True)
class TrendCell:
    text: str
    ci: str


@dataclass(frozen=True)
class TrendRow:
    """One focus role of a comparison: the difference in each wave, and the latest change."""

    role_name: str
    cells: tuple[TrendCell, ...]
    change: TrendCell
    verdict: str


@dataclass(frozen=True)
class ComparisonCard:
    slug: str
    name: str
    version: int
    sentence: SafeString
    trend_sentences: tuple[SafeString, ...]
    estimator_note: str
    corrected_note: str
    waves: tuple[str, ...]
    rows: tuple[TrendRow, ...]
    correlation: bool


@dataclass(frozen=True)
class QuestionSection:
    code: str
    title: str
    intro: str
    cards: tuple[ComparisonCard, ...]


def _value(mean, low, high) -> SafeString:
    if not formats.is_number(mean):
        return format_html("{}", formats.MISSING)
    if formats.is_number(low) and formats.is_number(high):
        return format_html("{} {}", formats.fmt(mean, 1), formats.fmt_ci(low, high, 1))
    return format_html("{}", formats.fmt(mean, 1))


def _roles_text(rows: Sequence[ResearchResult], side: str, names: Names) -> SafeString:
    ranked = sorted(
        (row for row in rows if formats.is_number(getattr(row, f"mean_{side}"))),
        key=lambda row: -getattr(row, f"mean_{side}"),
    )[:FOCUS_ROLES_PER_SIDE]
    parts = [
        format_html(
            "<em>{}</em>, {}",
            names.roles.get(row.role, row.role),
            _value(
                getattr(row, f"mean_{side}"),
                getattr(row, f"ci_low_{side}"),
                getattr(row, f"ci_high_{side}"),
            ),
        )
        for row in ranked
    ]
    return format_html_join(format_html(" {} ", _("and")), "{}", ((part,) for part in parts))


def _side_phrase(row: ResearchResult, side: str, roles: SafeString, names: Names) -> SafeString:
    panel = getattr(row, f"{side}_panel")
    holder = getattr(row, f"{side}_holder")
    subject = getattr(row, f"{side}_subject")
    perspective = getattr(row, f"{side}_perspective")
    values = {
        "panel": names.panel(panel),
        "holder": names.actors.get(holder, holder),
        "subject": names.actors.get(subject, subject),
        "roles": roles,
    }
    if perspective == "conception":
        template = _("%(panel)s conceives of %(subject)s as %(roles)s")
    elif perspective == "performance":
        template = _("%(panel)s sees %(subject)s enact %(roles)s")
    elif names.panel_actor.get(panel) == holder:
        template = _("%(panel)s ascribes %(roles)s to %(subject)s")
    else:
        template = _("%(panel)s sees %(holder)s expect %(roles)s of %(subject)s")
    return _filled(template, values)


def _filled(template: str, values: Mapping[str, object]) -> SafeString:
    """A translated %-template with its values escaped (SafeStrings kept as they are)."""
    pieces = {key: "{" + key + "}" for key in values}
    return format_html(template.replace("{", "{{").replace("}", "}}") % pieces, **values)


VERDICTS = {
    "unclear": gettext_lazy("no clear change"),
    "widening": gettext_lazy("the gap is widening"),
    "narrowing": gettext_lazy("the gap is narrowing"),
}


def _verdict(diff, change, low, high) -> str:
    """``VERDICTS`` key of a change: unclear when its interval holds 0, widening when it
    moves the difference further from 0 (same sign as the difference), narrowing otherwise;
    "" without an interval."""
    if not (formats.is_number(change) and formats.is_number(low) and formats.is_number(high)):
        return ""
    if low <= 0 <= high:
        return "unclear"
    widening = formats.is_number(diff) and diff != 0 and (change > 0) == (diff > 0)
    return "widening" if widening else "narrowing"


def _card(
    version_rows: Sequence[Mapping],
    results: Sequence[ResearchResult],
    names: Names,
    waves,
    corrected: Sequence[ResearchResult] = (),
) -> ComparisonCard:
    """One comparison: its latest wave's sentence, its focus roles' trend and notes."""
    first = results[0]
    by_wave: dict[str, list[ResearchResult]] = defaultdict(list)
    for result in results:
        by_wave[result.wave].append(result)
    shown = [wave for wave in waves if wave in by_wave]
    latest = by_wave[shown[-1]]
    inter = first.kind == "inter_role"
    if inter:
        row = latest[0]
        sentence = _filled(
            _(
                "In %(wave)s %(panel)s rates %(role_a)s %(mean_a)s and %(role_b)s %(mean_b)s "
                "(%(perspective)s %(holder)s → %(subject)s): difference %(diff)s, correlation "
                "across %(n)s experts %(r)s."
            ),
            {
                "wave": row.wave,
                "panel": names.panel(row.left_panel),
                "role_a": format_html("<em>{}</em>", names.roles.get(row.role, row.role)),
                "role_b": format_html("<em>{}</em>", names.roles.get(row.role_b, row.role_b)),
                "mean_a": formats.fmt(row.mean_left, 1),
                "mean_b": formats.fmt(row.mean_right, 1),
                "perspective": Perspective(row.left_perspective).label,
                "holder": names.actors.get(row.left_holder, row.left_holder),
                "subject": names.actors.get(row.left_subject, row.left_subject),
                "diff": _value(row.diff, row.diff_ci_low, row.diff_ci_high),
                "n": row.n_left,
                "r": format_html("r = {}", _value(row.r, row.r_ci_low, row.r_ci_high)),
            },
        )
        focus = [(row.role, row.role_b)]
    else:
        left = _side_phrase(first, "left", _roles_text(latest, "left", names), names)
        right = _side_phrase(first, "right", _roles_text(latest, "right", names), names)
        sentence = _filled(
            _("In %(wave)s %(left)s; %(right)s."),
            {"wave": shown[-1], "left": left, "right": right},
        )
        focus = _focus_roles(latest)
    table = {(row["role"], row["role_b"], row["wave"]): row for row in version_rows}
    rows, trend_sentences = [], []
    for role, role_b in focus:
        cells = []
        for wave in shown:
            row = table.get((role, role_b, wave))
            diff = row and row["diff"]
            cells.append(
                TrendCell(
                    formats.fmt(diff, 2) if row else formats.MISSING,
                    formats.fmt_ci(row["diff_ci_low"], row["diff_ci_high"], 2) if row else "",
                )
            )
        last = table.get((role, role_b, shown[-1]))
        change = TrendCell(formats.MISSING, "")
        verdict = ""
        if last and last["previous_wave"]:
            change = TrendCell(
                formats.fmt(last["change"], 2),
                formats.fmt_ci(last["change_ci_low"], last["change_ci_high"], 2),
            )
            verdict = _verdict(
                last["diff"], last["change"], last["change_ci_low"], last["change_ci_high"]
            )
        if verdict in {"widening", "narrowing"}:
            trend_sentences.append(
                _filled(
                    _(
                        "From %(previous)s to %(wave)s the difference in %(role)s went from "
                        "%(before)s to %(after)s, a change of %(change)s: %(verdict)s."
                    ),
                    {
                        "previous": last["previous_wave"],
                        "wave": last["wave"],
                        "role": format_html("<em>{}</em>", _role_label(role, role_b, names)),
                        "before": formats.fmt(last["diff"] - last["change"], 2),
                        "after": formats.fmt(last["diff"], 2),
                        "change": _value(
                            last["change"], last["change_ci_low"], last["change_ci_high"]
                        ),
                        "verdict": VERDICTS[verdict],
                    },
                )
            )
        rows.append(
            TrendRow(
                _role_label(role, role_b, names),
                tuple(cells),
                change,
                str(VERDICTS.get(verdict, "")),
            )
        )
    if len(shown) > 1 and not trend_sentences:
        trend_sentences.append(
            format_html(
                "{}",
                _("From %(previous)s to %(wave)s none of these differences changed clearly.")
                % {"previous": shown[-2], "wave": shown[-1]},
            )
        )
    corrected_note = _corrected_note(latest, corrected, names)
    return ComparisonCard(
        slug=first.comparison,
        name=first.name,
        version=first.version,
        sentence=sentence,
        trend_sentences=tuple(trend_sentences),
        estimator_note=_("Estimator: %(estimator)s.")
        % {"estimator": ESTIMATOR_NAMES.get(first.estimator, first.estimator)},
        corrected_note=corrected_note,
        waves=tuple(shown),
        rows=tuple(rows),
        correlation=inter,
    )


def _corrected_note(
    latest: Sequence[ResearchResult], corrected: Sequence[ResearchResult], names: Names
) -> str:
    """E.g. "Aldrich–McKelvey and Ordinal IRT agree; Vignette C-scores: significance differs
    in Bridge." from each corrected estimator's checks of the latest wave's roles."""
    flags: dict[str, dict[str, list[str]]] = {}
    for result in latest:
        for check in corrected_checks(result, corrected):
            found = flags.setdefault(check.estimator, {"sign": [], "significance": []})
            role = _role_label(result.role, result.role_b, names)
            if check.sign_differs:
                found["sign"].append(role)
            if check.significance_differs:
                found["significance"].append(role)
    if not flags:
        return _("Corrected estimators: no result stored yet to check against.")
    label = {name: str(ESTIMATOR_LABELS.get(name, name)) for name in flags}
    agree = [label[name] for name, found in flags.items() if not any(found.values())]
    parts = []
    if agree:
        parts.append(
            _("%(estimators)s agree") % {"estimators": f" {_('and')} ".join(agree)}
            if len(agree) > 1
            else _("%(estimator)s agrees") % {"estimator": agree[0]}
        )
    for name, found in flags.items():
        differs = []
        if found["sign"]:
            differs.append(_("sign differs in %(roles)s") % {"roles": ", ".join(found["sign"])})
        if found["significance"]:
            differs.append(
                _("significance differs in %(roles)s") % {"roles": ", ".join(found["significance"])}
            )
        if differs:
            parts.append(f"{label[name]}: {', '.join(differs)}")
    return "; ".join(parts) + "."


def _role_label(role: str, role_b: str, names: Names) -> str:
    if not role_b:
        return names.roles.get(role, role)
    return f"{names.roles.get(role, role)} − {names.roles.get(role_b, role_b)}"


def _focus_roles(rows: Sequence[ResearchResult]) -> list[tuple[str, str]]:
    """The roles the sentence names: each side's highest means, left side first."""
    focus: list[tuple[str, str]] = []
    for side in ("left", "right"):
        ranked = sorted(
            (row for row in rows if formats.is_number(getattr(row, f"mean_{side}"))),
            key=lambda row: -getattr(row, f"mean_{side}"),
        )
        for row in ranked[:FOCUS_ROLES_PER_SIDE]:
            if (row.role, "") not in focus:
                focus.append((row.role, ""))
    return focus


def report_names() -> Names:
    """Names of actors, roles and cities, and each panel's actor (three queries)."""
    places = selectors.actor_places()
    return Names(
        actors={code: place.name for code, place in places.items()},
        roles=dict(selectors.role_options()),
        cities=dict(selectors.panel_options()),
        panel_actor={place.panel: code for code, place in places.items() if place.panel},
    )


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def research_question_sections(
    results: Sequence[ResearchResult],
    waves: Sequence[str],
    names: Names,
    corrected: Sequence[ResearchResult] = (),
) -> list[QuestionSection]:
    """The page's sections: each research question with its comparisons' cards, in the order
    of the shipped comparisons; a comparison without any stored result is left out.
    ``corrected``: the same comparisons under the corrected estimators, for each card's
    note on whether they disagree."""
    table = research_questions_table(results, waves=waves, corrected=corrected)
    table_rows: dict[str, list[dict]] = defaultdict(list)
    for row in table.to_dict("records"):
        table_rows[row["comparison"]].append(
            {key: None if _missing(value) else value for key, value in row.items()}
        )
    grouped: dict[str, dict[str, list[ResearchResult]]] = defaultdict(dict)
    for result in results:
        grouped[result.question].setdefault(result.comparison, []).append(result)
    sections = []
    for code, title in SavedComparison.Question.choices:
        comparisons = grouped.get(code, {})
        cards = tuple(
            _card(table_rows[slug], rows, names, waves, corrected)
            for slug, rows in comparisons.items()
        )
        sections.append(QuestionSection(code, str(title), str(QUESTION_INTROS[code]), cards))
    return sections


def research_questions(request: HttpRequest) -> HttpResponse:
    """The page: every research question with its comparisons, sentences and trends."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    waves = waves_in_order()
    versions = research_versions()
    sections = research_question_sections(
        research_results_load(versions=versions),
        waves,
        report_names(),
        research_corrected_load(versions=versions),
    )
    return render(
        request,
        "admin/reports/research_questions.html",
        {
            **admin.site.each_context(request),
            "title": _("Research questions"),
            "is_nav_sidebar_enabled": False,
            "sections": sections,
            "heat_css": formats.heat_css(),
        },
    )


research_questions_view = admin.site.admin_view(research_questions)
