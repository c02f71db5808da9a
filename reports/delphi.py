"""The Delphi report of a study: rounds side by side, convergence, stability, reasons.

Reads the figures stored on each closed round (``surveys.delphi_selectors``) and formats
them; computes nothing. Readable by researchers (``aggregation.view_aggregationrun``) and by
panel admins, who see their own panels and all panels pooled. No page shows an expert, a
pseudonym or a time: items, panels, numbers and the reasons' texts.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from surveys.access import ALL_PANELS, panel_ids_administered
from surveys.delphi_selectors import (
    delphi_justifications,
    delphi_report_rows,
    delphi_role_names,
)
from surveys.models import DelphiStudy, Panel

VIEW_PERMISSION = "aggregation.view_aggregationrun"


def _number(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


@dataclass(frozen=True)
class Cell:
    median: str
    quartiles: str
    iqr: str
    share: str
    consensus: bool
    n: int
    changed: str
    p: str


def _cell(figures: dict | None) -> Cell | None:
    if figures is None:
        return None
    moved = figures.get("stability") or {}
    return Cell(
        median=_number(figures["median"]),
        quartiles=f"{_number(figures['q1'])}–{_number(figures['q3'])}",
        iqr=_number(figures["iqr"]),
        share=_number(
            None if figures["share_near_median"] is None else 100 * figures["share_near_median"], 0
        ),
        consensus=figures["consensus"],
        n=figures["n"],
        changed=(f"{moved['changed']}/{moved['pairs']}" if moved.get("pairs") else ""),
        p=_number(moved.get("p"), 3) if moved.get("pairs") else "",
    )


def _visible_scopes(user) -> set[str] | None:
    """Panel codes (and "all") the user may read; None for every scope."""
    if user.has_perm(VIEW_PERMISSION):
        return None
    panel_ids = panel_ids_administered(user)
    if panel_ids is ALL_PANELS:
        return None
    if not panel_ids:
        raise PermissionDenied
    return {"all", *Panel.objects.filter(pk__in=panel_ids).values_list("code", flat=True)}


def delphi_report(request: HttpRequest, study_id: int) -> HttpResponse:
    scopes = _visible_scopes(request.user)
    study = get_object_or_404(DelphiStudy, pk=study_id)
    rounds, rows = delphi_report_rows(study=study)
    names = delphi_role_names(study=study)
    items = [
        {
            "code": row.code,
            "role": names.get(row.code, row.code),
            "scope": "all panels" if row.scope == "all" else row.scope,
            "cells": [_cell(figures) for figures in row.rounds],
            "converging": row.converging,
        }
        for row in rows
        if scopes is None or row.scope in scopes
    ]
    concordance = [
        {
            "round": round_.number,
            "blocks": [
                {
                    "block": block,
                    "w": _number(figures["w"], 3),
                    "chi2": _number(figures["chi2"], 2),
                    "df": figures["df"],
                    "p": _number(figures["p"], 3),
                    "raters": figures["raters"],
                }
                for block, figures in sorted(
                    round_.results.get("concordance", {}).items(), key=lambda kv: int(kv[0])
                )
            ],
            "stability": round_.results.get("stability_overall"),
        }
        for round_ in rounds
        if round_.results
    ]
    reasons = [
        {
            "round": reason.round_number,
            "role": names.get(reason.code, reason.code),
            "panel": reason.panel,
            "value": reason.value,
            "text": reason.text,
        }
        for reason in delphi_justifications(study=study)
        if scopes is None or reason.panel in scopes
    ]
    context = {
        **admin.site.each_context(request),
        "title": f"Delphi study: {study.title}",
        "is_nav_sidebar_enabled": False,
        "study": study,
        "rounds": [
            {
                "number": round_.number,
                "wave": round_.wave,
                "respondents": round_.results.get("respondents"),
                "stability": round_.results.get("stability_overall"),
            }
            for round_ in rounds
        ],
        "items": items,
        "concordance": concordance,
        "reasons": reasons,
    }
    return render(request, "admin/reports/delphi.html", context)


delphi_report = admin.site.admin_view(delphi_report)
