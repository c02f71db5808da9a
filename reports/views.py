"""Admin report pages: role comparison, overview matrix, dyad, trends, the role network and
reliability.

Thin views inside the Django admin (staff only, ``aggregation.view_aggregationrun``). They
read stored aggregation results with ``aggregation.selectors`` (the newest complete run of a
wave, never a running or failed one), let the presentation modules of ``reports`` format
them, and render.
Every page answers ``?format=csv`` with its table's numbers (``aggregation.export_results``),
and every download is written to the audit log as ``export.download``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps

import cairosvg
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from aggregation import selectors
from aggregation.engine import ESTIMATOR_NAME, PERSPECTIVES, PRESET_LABELS, PRESETS
from aggregation.estimator_selectors import comparison_across_estimators
from aggregation.estimators import ESTIMATORS
from aggregation.reliability_selectors import reliability_stored
from aggregation.reliability_stats import BOOTSTRAP_REPLICATES, RELIABILITY_COEFFICIENTS
from aggregation.role_network import network_layout, role_network
from reports import estimators, formats, network, reliability, tables, wording
from reports.downloads import EXPORT_PERMISSION, csv_download, file_download

VIEW_PERMISSION = "aggregation.view_aggregationrun"
DEFAULT_PRESET = "ascribed_vs_conceived"
DEFAULT_TREND_CELL = {"holder": "ARM", "subject": "ARM", "perspective": "conception"}


# Plumbing ------------------------------------------------------------------------------------


def report_view(view: Callable) -> Callable:
    """Staff only (the admin's login), and the permission to read aggregation runs."""

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


def _options(pairs: Sequence[tuple[str, str]], chosen) -> list[Option]:
    chosen = set(chosen) if isinstance(chosen, list | tuple | set) else {chosen}
    return [Option(value, label, value in chosen) for value, label in pairs]


def _pick(request: HttpRequest, name: str, allowed: Sequence[str], default: str | None):
    value = request.GET.get(name)
    return value if value in allowed else default


def _wave_choice(request: HttpRequest) -> tuple[list[selectors.WaveOption], selectors.WaveOption]:
    """The waves with results and the one asked for (default: the newest with a run)."""
    waves = selectors.waves_with_latest_run()
    with_runs = [wave for wave in waves if wave.run_id] or waves
    chosen = next((wave for wave in waves if wave.slug == request.GET.get("wave")), None)
    return waves, chosen or (with_runs[-1] if with_runs else None)


def _context(request: HttpRequest, *, title: str, wave=None, **extra) -> dict:
    context = {
        **admin.site.each_context(request),
        "title": title,
        "is_nav_sidebar_enabled": False,
        "heat_css": formats.heat_css(),
        "can_export": request.user.has_perm(EXPORT_PERMISSION),
        "csv_query": _csv_query(request),
    }
    if wave is not None:
        context["report_wave"] = wave
    context.update(extra)
    return context


def _csv_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def _estimator_context(request: HttpRequest, wave) -> tuple[str, dict]:
    """The estimator asked for (``?estimator=``, default the plain means) and the context
    that names it: the menu, its label, its result set's status line, not converged."""
    estimator = _pick(request, "estimator", ESTIMATORS, ESTIMATOR_NAME)
    summaries = selectors.estimator_summaries(run_id=wave.run_id) if wave and wave.run_id else {}
    summary = summaries.get(estimator)
    return estimator, {
        "estimator_options": _options(estimators.estimator_options(), estimator),
        "estimator": estimator,
        "estimator_label": estimators.ESTIMATOR_LABELS.get(estimator, estimator),
        "estimator_status": estimators.estimator_status(summary),
        "estimator_not_converged": bool(summary and summary.not_converged),
    }


def _family(request: HttpRequest, default: str) -> str:
    """The Benjamini–Hochberg family the page adjusts over (``?family=``)."""
    return _pick(request, "family", [code for code, _ in tables.FAMILY_OPTIONS], default)


def _preset_options(chosen: str) -> list[Option]:
    return _options([(code, PRESET_LABELS.get(code, code)) for code in PRESETS], chosen)


# Pages ---------------------------------------------------------------------------------------


@report_view
def comparison(request: HttpRequest) -> HttpResponse:
    """One preset comparison of one subject on one estimator (``?estimator=``, plain means by
    default): table, dominant roles, distance, chart; then plain and corrected side by side."""
    waves, wave = _wave_choice(request)
    preset = _pick(request, "preset", list(PRESETS), DEFAULT_PRESET)
    estimator, estimator_context = _estimator_context(request, wave)
    subjects = selectors.comparison_subjects(run_id=wave.run_id) if wave and wave.run_id else []
    codes = [code for code, _ in subjects]
    subject = _pick(request, "subject", codes, "ARM" if "ARM" in codes else next(iter(codes), None))
    family = _family(request, "comparison")
    stored = (
        selectors.comparisons_stored(
            run_id=wave.run_id,
            preset=preset,
            subject=subject,
            family=family,
            estimator=estimator,
        )
        if subject
        else []
    )
    across = (
        estimators.side_by_side_view(
            comparison_across_estimators(run_id=wave.run_id, preset=preset, subject=subject)
        )
        if subject
        else None
    )
    if _wants_csv(request):
        return csv_download(
            request,
            name=["comparison", wave and wave.slug, preset, subject],
            header=tables.COMPARISON_CSV_HEADER,
            rows=tables.comparison_csv_rows(wave.slug if wave else "", stored),
            detail={
                "page": "comparison",
                "wave": wave and wave.slug,
                "preset": preset,
                "subject": subject,
                "estimator": estimator,
                "family": family,
            },
        )
    view = tables.comparison_view(stored[0], selectors.actor_places()) if stored else None
    return render(
        request,
        "admin/reports/comparison.html",
        _context(
            request,
            title="Role comparison",
            wave=wave,
            wave_options=_options([(w.slug, w.title) for w in waves], wave and wave.slug),
            preset_options=_preset_options(preset),
            subject_options=_options(subjects, subject),
            preset_label=PRESET_LABELS.get(preset, preset),
            comparison=view,
            family_options=_options(tables.FAMILY_OPTIONS, family),
            family_note=tables.family_note(stored),
            legend=formats.heat_legend(),
            across=across,
            **estimator_context,
        ),
    )


@report_view
def overview(request: HttpRequest) -> HttpResponse:
    """Subjects × roles: each cell a preset's difference (left − right) as a heat map."""
    waves, wave = _wave_choice(request)
    preset = _pick(request, "preset", list(PRESETS), DEFAULT_PRESET)
    estimator, estimator_context = _estimator_context(request, wave)
    # The matrix shows every test of the wave and preset: by default they are one family.
    family = _family(request, "wave_preset")
    stored = (
        selectors.comparisons_stored(
            run_id=wave.run_id, preset=preset, family=family, estimator=estimator
        )
        if wave and wave.run_id
        else []
    )
    if _wants_csv(request):
        return csv_download(
            request,
            name=["overview", wave and wave.slug, preset],
            header=tables.COMPARISON_CSV_HEADER,
            rows=tables.comparison_csv_rows(wave.slug if wave else "", stored),
            detail={
                "page": "overview",
                "wave": wave and wave.slug,
                "preset": preset,
                "estimator": estimator,
                "family": family,
            },
        )
    places = selectors.actor_places()
    sides = wording.overview_sides(stored, places)
    return render(
        request,
        "admin/reports/overview.html",
        _context(
            request,
            title="Overview matrix",
            wave=wave,
            wave_options=_options([(w.slug, w.title) for w in waves], wave and wave.slug),
            preset_options=_preset_options(preset),
            preset=preset,
            preset_label=PRESET_LABELS.get(preset, preset),
            sides=sides,
            matrix=tables.overview_matrix(stored),
            family=family,
            family_options=_options(tables.FAMILY_OPTIONS, family),
            family_note=tables.family_note(stored),
            legend=formats.heat_legend(),
            **estimator_context,
        ),
    )


@report_view
def dyad(request: HttpRequest) -> HttpResponse:
    """Russia and one ally: every preset comparison of the ally on one page."""
    waves, wave = _wave_choice(request)
    subjects = selectors.comparison_subjects(run_id=wave.run_id) if wave and wave.run_id else []
    codes = [code for code, _ in subjects]
    subject = _pick(request, "subject", codes, "ARM" if "ARM" in codes else next(iter(codes), None))
    estimator, estimator_context = _estimator_context(request, wave)
    family = _family(request, "comparison")
    stored = (
        selectors.comparisons_stored(
            run_id=wave.run_id, subject=subject, family=family, estimator=estimator
        )
        if subject
        else []
    )
    order = {code: position for position, code in enumerate(DYAD_ORDER)}
    stored.sort(key=lambda comparison: order.get(comparison.preset, len(order)))
    if _wants_csv(request):
        return csv_download(
            request,
            name=["dyad", wave and wave.slug, "RUS", subject],
            header=tables.COMPARISON_CSV_HEADER,
            rows=tables.comparison_csv_rows(wave.slug if wave else "", stored),
            detail={
                "page": "dyad",
                "wave": wave and wave.slug,
                "subject": subject,
                "estimator": estimator,
                "family": family,
            },
        )
    places = selectors.actor_places()
    sections = [
        DyadSection(
            preset=comparison.preset,
            heading=DYAD_HEADINGS.get(comparison.preset, PRESET_LABELS.get(comparison.preset)),
            label=PRESET_LABELS.get(comparison.preset, comparison.preset),
            comparison=tables.comparison_view(comparison, places),
        )
        for comparison in stored
    ]
    subject_name = dict(subjects).get(subject, subject)
    return render(
        request,
        "admin/reports/dyad.html",
        _context(
            request,
            title=f"Dyad: Russia – {subject_name}" if subject else "Dyad",
            wave=wave,
            wave_options=_options([(w.slug, w.title) for w in waves], wave and wave.slug),
            subject_options=_options(subjects, subject),
            subject=subject,
            sections=sections,
            family_options=_options(tables.FAMILY_OPTIONS, family),
            family_note=tables.family_note(stored),
            legend=formats.heat_legend(),
            **estimator_context,
        ),
    )


DYAD_ORDER = [
    "ego_vs_perceived_alter",
    "ascribed_vs_conceived",
    "conception_vs_performance",
    "perceived_vs_actual_expectation",
]
DYAD_HEADINGS = {
    "ego_vs_perceived_alter": "Russia's role: ego against perceived alter",
    "ascribed_vs_conceived": "What Moscow ascribes and what the ally conceives",
    "conception_vs_performance": "The ally's role conception against its performance",
    "perceived_vs_actual_expectation": "Expectations of Russia: perceived against actual",
}


@dataclass(frozen=True)
class DyadSection:
    preset: str
    heading: str
    label: str
    comparison: tables.ComparisonView


@report_view
def trends(request: HttpRequest) -> HttpResponse:
    """A cell's mean, or a comparison's difference, across waves with CI bands."""
    waves = selectors.waves_with_latest_run()
    wave_slugs = [wave.slug for wave in waves if wave.run_id]
    kind = _pick(request, "kind", ["cell", "comparison"], "cell")
    actors = selectors.actor_options()
    actor_codes = [code for code, _ in actors]
    panels = selectors.panel_options()
    role_choices = selectors.role_options()
    chosen_roles = [code for code in request.GET.getlist("role") if code in dict(role_choices)]
    if kind == "cell":
        holder = _pick(request, "holder", actor_codes, DEFAULT_TREND_CELL["holder"])
        subject = _pick(request, "subject", actor_codes, DEFAULT_TREND_CELL["subject"])
        perspective = _pick(request, "perspective", PERSPECTIVES, "conception")
        panel_codes = [code for code, _ in panels]
        default_panel = next(
            (p.panel for p in selectors.actor_places().values() if p.code == holder and p.panel),
            "ALL",
        )
        panel = _pick(request, "panel", [*panel_codes, "ALL"], default_panel)
        points = selectors.cell_trend(
            holder=holder,
            subject=subject,
            perspective=perspective,
            panel=None if panel == "ALL" else panel,
        )
        what = f"{perspective} {holder}→{subject}, " + (
            "all panels" if panel == "ALL" else f"{dict(panels).get(panel, panel)} panel"
        )
        y_label = "Mean rating (0–10)"
        detail = {"holder": holder, "subject": subject, "perspective": perspective, "panel": panel}
        preset = DEFAULT_PRESET
    else:
        preset = _pick(request, "preset", list(PRESETS), DEFAULT_PRESET)
        subject = _pick(request, "subject", actor_codes, "ARM")
        holder, perspective, panel = "", "", ""
        points = selectors.comparison_trend(preset=preset, subject=subject)
        what = f"{PRESET_LABELS.get(preset, preset)}, {dict(actors).get(subject, subject)}"
        y_label = "Difference left − right"
        detail = {"preset": preset, "subject": subject}
    roles = chosen_roles or tables.trend_default_roles(points)
    if _wants_csv(request):
        return csv_download(
            request,
            name=["trend", kind, *detail.values()],
            header=tables.TREND_CSV_HEADER,
            rows=tables.trend_csv_rows(points, roles),
            detail={"page": "trends", "kind": kind, **detail},
        )
    view = tables.trend_view(
        points,
        waves=wave_slugs,
        roles=roles,
        y_label=y_label,
        title=f"Trend: {what}",
        differences=kind == "comparison",
    )
    return render(
        request,
        "admin/reports/trends.html",
        _context(
            request,
            title="Trends across waves",
            kind=kind,
            what=what,
            trend=view,
            holder_options=_options(actors, holder),
            subject_options=_options(actors, subject),
            perspective_options=_options([(p, p) for p in PERSPECTIVES], perspective),
            panel_options=_options([*panels, ("ALL", "All panels")], panel),
            preset_options=_preset_options(preset),
            role_options=_options(role_choices, roles),
        ),
    )


@report_view
def reliability_report(request: HttpRequest) -> HttpResponse:
    """Agreement of each panel on each block of a wave, with 95 % bootstrap intervals."""
    waves, wave = _wave_choice(request)
    estimator, estimator_context = _estimator_context(request, wave)
    stored = (
        reliability_stored(run_id=wave.run_id, estimator=estimator) if wave and wave.run_id else []
    )
    if _wants_csv(request):
        return csv_download(
            request,
            name=["reliability", wave and wave.slug, estimator],
            header=reliability.RELIABILITY_CSV_HEADER,
            rows=reliability.reliability_csv_rows(wave.slug if wave else "", stored),
            detail={"page": "reliability", "wave": wave and wave.slug, "estimator": estimator},
        )
    return render(
        request,
        "admin/reports/reliability.html",
        _context(
            request,
            title="Reliability",
            wave=wave,
            wave_options=_options([(w.slug, w.title) for w in waves], wave and wave.slug),
            coefficient_names=[
                reliability.COEFFICIENT_NAMES[name] for name in RELIABILITY_COEFFICIENTS
            ],
            rows=reliability.reliability_table(stored),
            replicates=f"{BOOTSTRAP_REPLICATES:,}",
            **estimator_context,
        ),
    )


@report_view
def role_network_map(request: HttpRequest) -> HttpResponse:
    """Actors, the roles they ascribe to each other and conceive for themselves: one wave, or
    two side by side (``compare``); ``?format=svg|png|csv`` downloads the first wave's map."""
    waves, wave = _wave_choice(request)
    with_runs = {option.slug: option for option in waves if option.run_id}
    second = with_runs.get(request.GET.get("compare", ""))
    shown = [option for option in (wave, second) if option is not None and option.run_id]
    actor_names = dict(selectors.actor_options())
    role_names = dict(selectors.role_options())
    panel_cities = dict(selectors.panel_options())
    maps = []
    for option in shown:
        inputs = selectors.network_inputs(run_id=option.run_id)
        graph = role_network(inputs.cells, actors=inputs.actors, home_panel=inputs.home_panel)
        maps.append((option, graph))
    file_format = request.GET.get("format")
    if file_format in {"svg", "png", "csv"} and maps:
        return _network_download(request, file_format, *maps[0], actor_names, role_names)
    views = [
        network.network_view(
            graph,
            network_layout(graph),
            wave=option.slug,
            actor_names=actor_names,
            role_names=role_names,
            panel_cities=panel_cities,
        )
        for option, graph in maps
    ]
    compare_choices = [("", "— none —"), *[(slug, w.title) for slug, w in with_runs.items()]]
    return render(
        request,
        "admin/reports/network.html",
        _context(
            request,
            title="Role network",
            wave=wave,
            wave_options=_options([(w.slug, w.title) for w in waves], wave and wave.slug),
            compare_options=_options(compare_choices, second.slug if second else ""),
            maps=views,
            legend=network.legend_rows(),
            download_query=_download_queries(request),
        ),
    )


def _download_queries(request: HttpRequest) -> dict[str, str]:
    """The page's query with ``format`` set to each download (the first wave's map)."""
    queries = {}
    for file_format in ("svg", "png", "csv"):
        query = request.GET.copy()
        query.pop("compare", None)
        query["format"] = file_format
        queries[file_format] = query.urlencode()
    return queries


def _network_download(request, file_format, option, graph, actor_names, role_names):
    name = ["role-network", option.slug]
    detail = {"page": "network", "wave": option.slug}
    if file_format == "csv":
        return csv_download(
            request,
            name=name,
            header=network.NETWORK_CSV_HEADER,
            rows=network.network_csv_rows(option.slug, graph),
            detail=detail,
        )
    svg = network.network_svg(
        graph,
        network_layout(graph),
        wave=option.slug,
        actor_names=actor_names,
        role_names=role_names,
    )
    if file_format == "svg":
        content, content_type = str(svg), "image/svg+xml"
    else:
        content = cairosvg.svg2png(bytestring=str(svg).encode(), output_width=1640)
        content_type = "image/png"
    return file_download(
        request,
        name=name,
        extension=file_format,
        content=content,
        content_type=content_type,
        detail=detail,
    )
