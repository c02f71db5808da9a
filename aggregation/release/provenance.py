"""Where a release comes from (``release.json``) and what was done to protect the experts
(``deidentification.json``)."""

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db.models import Count

from aggregation.estimators import ESTIMATOR_VERSIONS
from aggregation.exports import ExportSource
from aggregation.models import AggregationRun, EstimatorResult
from aggregation.release.estimator_tables import result_set_records
from surveys.models import BlockComment

SOFTWARE_NAME = "role-survey"


def software_version() -> str:
    """The version in ``pyproject.toml``."""
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as handle:
            return tomllib.load(handle)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def git_commit() -> str:
    """The commit of the running code: ``git rev-parse HEAD`` in the checkout, else
    ``RELEASE_GIT_COMMIT`` (set by a deployment without ``.git``), else ``unknown``."""
    try:
        found = subprocess.run(
            ["git", "-C", str(settings.BASE_DIR), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    return found or settings.RELEASE_GIT_COMMIT or "unknown"


def run_record(run: AggregationRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "estimator": run.estimator_name,
        "estimator_version": run.estimator_version,
        "n_ratings": run.n_ratings,
        "n_responses": len(run.input_responses),
        "input_fingerprint": run.input_fingerprint,
        "ratings_fingerprint": run.ratings_fingerprint,
    }


def release_record(
    *, run: AggregationRun, sources: dict[str, ExportSource], generated_at: str
) -> dict[str, Any]:
    wave = run.wave
    result_sets = result_set_records(run)
    return {
        "software": {
            "name": SOFTWARE_NAME,
            "version": software_version(),
            "git_commit": git_commit(),
        },
        "generated_at": generated_at,
        "wave": {
            "slug": wave.slug,
            "title": wave.title,
            "status": wave.status,
            "synthetic": wave.is_synthetic,
            "opens_at": wave.opens_at.isoformat() if wave.opens_at else None,
            "closes_at": wave.closes_at.isoformat() if wave.closes_at else None,
        },
        "aggregation_run": run_record(run),
        "estimators": {
            "used": {
                result["estimator"]: result["estimator_version"]
                for result in result_sets
                if result["status"] == EstimatorResult.Status.COMPLETE
            },
            "available": dict(ESTIMATOR_VERSIONS),
            "result_sets": result_sets,
        },
        "tables": {table: source.rows for table, source in sources.items()},
    }


def _group_sizes(ratings: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Responses per panel, and per panel × released submission date (dated ones only)."""
    responses = ratings.drop_duplicates("pseudonym")
    per_panel = responses.groupby("panel").size()
    dated = responses[responses["submitted_on"].notna()]
    per_date = dated.groupby(["panel", "submitted_on"]).size()
    return per_panel, per_date


def deidentification(
    *, ratings: ExportSource, response_ids: frozenset[int], panel_codes: dict[int, str]
) -> dict[str, Any]:
    """What the release does to keep experts from being singled out, with the numbers."""
    disclosure = ratings.disclosure
    per_panel, per_date = _group_sizes(ratings.frame())
    comments = dict(
        BlockComment.objects.filter(response_id__in=response_ids)
        .order_by()
        .values_list("review")
        .annotate(n=Count("pk"))
    )
    smallest_group = None
    if len(per_date):
        (panel, day), size = min(per_date.items(), key=lambda item: item[1])
        smallest_group = {"panel": panel_codes.get(panel, str(panel)), "date": str(day)}
        smallest_group["responses"] = int(size)
    return {
        "experts": "Each expert appears only as the random pseudonym of their response in this "
        "wave; rows are ordered by pseudonym, never in the order experts were invited or "
        "answered.",
        "never_exported": [
            "names, e-mail addresses and affiliations of experts",
            "invitations, invitation tokens and their hashes",
            "times a response was started, saved, consented or submitted (beyond the "
            "coarsened submission date)",
            "IP addresses (never recorded)",
            "Delphi revision justifications and comments not cleared by a panel admin",
        ],
        "coarsened": {
            "submission_date": f"to the {disclosure.precision} (EXPORT_DATE_PRECISION)",
            "small_groups": (
                f"dates left empty where fewer than k = {disclosure.min_group_size} responses "
                "of the same panel share the coarsened date, with complementary suppression"
            ),
        },
        "min_group_size_k": disclosure.min_group_size,
        "date_precision": disclosure.precision,
        "smallest_panel_date_group": smallest_group,
        "smallest_panel_responses": int(per_panel.min()) if len(per_panel) else None,
        "small_groups": disclosure.small_groups,
        "responses_with_date_left_empty": disclosure.suppressed_responses,
        "panels_below_k": list(disclosure.small_panels),
        "comments": {
            "included_cleared": int(comments.get(BlockComment.Review.CLEARED, 0)),
            "withheld": int(comments.get(BlockComment.Review.WITHHELD, 0)),
            "not_yet_reviewed": int(comments.get(BlockComment.Review.PENDING, 0)),
            "rule": "A comment is included only after a panel admin of the expert's panel "
            "cleared it of identifying content in the review queue.",
        },
        "warnings": disclosure.warnings,
    }
