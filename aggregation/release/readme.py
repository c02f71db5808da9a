"""The README and ``CITATION.cff`` of a release."""

from typing import Any

from aggregation.release.estimator_tables import corrected_table_description

TABLE_DESCRIPTIONS = {
    "ratings": "raw ratings, one row per rating (response × item), pinned to the run",
    "ratings_wide": "the same ratings, one row per response and one column per item",
    "cells": "cell statistics: n, mean, median, SD, SE, 95% CI, weighted mean, r_wg",
    "comparisons": "the named comparisons role by role: both sides, difference, CI, t, g, p",
    "reliability": "Krippendorff's alpha and ICC per panel and block",
    "wave_changes": "change of each cell since the previous wave",
    "trends": "cell means of every wave up to this one",
    "instrument": "the items: block, holder, subject, perspective, role, scale, panels",
    "instrument_texts": "every text of the instrument in every language",
    "vignettes": "texts of the vignette actors (empty where the instrument has none)",
    "comments": "experts' comments cleared for release by a panel admin",
}


def _description(table: str) -> str:
    return TABLE_DESCRIPTIONS.get(table) or corrected_table_description(table)


def _status_text(result: dict[str, Any]) -> str:
    """ "complete", "complete, full posterior, converged", "not applicable: …" and so on."""
    if result["status"] != "complete":
        note = f": {result['note']}" if result["note"] else ""
        return f"{result['status'].replace('_', ' ')}{note}"
    parts = ["complete"]
    if result["mode"]:
        parts.append("full posterior" if result["mode"] == "full" else "fast mode")
    if result["converged"] is not None:
        parts.append("converged" if result["converged"] else "NOT converged")
    return ", ".join(parts)


def _yaml_text(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def citation_cff(
    *, title: str, version: str, date_released: str, authors: list[str], licence: str,
    commit: str, abstract: str,
) -> str:  # fmt: skip
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this data set, please cite it as below."',
        "type: dataset",
        f"title: {_yaml_text(title)}",
        f"version: {_yaml_text(version)}",
        f"date-released: {_yaml_text(date_released)}",
        f"abstract: {_yaml_text(abstract)}",
        "authors:",
        *(f"  - name: {_yaml_text(author)}" for author in authors),
    ]
    if licence:
        lines.append(f"license: {_yaml_text(licence)}")
    if commit and commit != "unknown":
        lines.append(f"commit: {_yaml_text(commit)}")
    return "\n".join(lines) + "\n"


def readme(
    *, record: dict[str, Any], report: dict[str, Any], formats: dict[str, str], licence: str
) -> str:
    wave = record["wave"]
    run = record["aggregation_run"]
    software = record["software"]
    rows = record["tables"]
    table_lines = "\n".join(
        f"| `{table}` | {rows[table]} | {_description(table)} |" for table in rows
    )
    format_lines = "\n".join(f"- `{folder}/`: {what}" for folder, what in formats.items())
    smallest = report["smallest_panel_date_group"]
    smallest_text = (
        f"{smallest['responses']} responses (panel {smallest['panel']}, {smallest['date']})"
        if smallest
        else "no dated group"
    )
    synthetic = (
        "\n**These data are synthetic (a demonstration wave).**\n" if wave["synthetic"] else ""
    )
    estimator_text = "; ".join(
        f"`{result['estimator']}` {result['estimator_version']} ({_status_text(result)})"
        for result in record["estimators"]["result_sets"]
    )
    return f"""# Role survey, wave {wave["slug"]}: data release

{wave["title"]}{synthetic}

Expert ratings of foreign-policy roles (conception, expectation, performance) by panels of
experts in several capitals, with the statistics computed from them. Every table holds the
results of one aggregation run and exactly the ratings that run counted.

## Provenance

- Aggregation run {run["id"]}, finished {run["finished_at"]}.
- Estimators: {estimator_text}.
- {run["n_ratings"]} ratings of {run["n_responses"]} submitted responses.
- Input fingerprint (SHA-256): `{run["input_fingerprint"]}`
- Ratings fingerprint (SHA-256): `{run["ratings_fingerprint"]}`
- Software: {software["name"]} {software["version"]}, commit `{software["git_commit"]}`.
- Generated at {record["generated_at"]}. All of it is in `release.json`.
- Licence: {licence or "not stated by the publisher"}.

## Tables

| table | rows | what |
| --- | --- | --- |
{table_lines}

Each table comes in four formats:

{format_lines}

`codebook.json` and `codebook.csv` describe every variable of every table (label, type, value
labels); `datapackage.json` describes the CSV files as a Frictionless Tabular Data Package
(schemas, sizes, SHA-256 hashes). Categorical variables (panel, holder, subject, perspective,
role, source) are text codes in CSV and Parquet and integer codes with value labels in the
Stata and SPSS files. The tables without a suffix hold the plain means; `cells_<estimator>`,
`comparisons_<estimator>` and `reliability_<estimator>` hold a corrected estimator's result
set (the `estimators` table says which are complete and converged; docs/methods.md describes
each). `cannot judge` is a missing value with `cannot_judge` = 1, never 0.
The `round` column gives the round of a Delphi study: 1 for round 1 and for an ordinary wave
(the primary data); a later round is a wave of its own, to be reported beside round 1, never
pooled with it.

## Loading

- R: `Rscript scripts/load_release.R` (needs `haven`), or `source()` it; it leaves a list
  `release` of data frames with their labels.
- Stata 16 or later: `do scripts/load_release.do` from this folder; one frame per table.
- SPSS: `CD` to this folder, then run `scripts/load_release.sps`; one dataset per table.
- Python: `pandas.read_parquet("data/parquet/ratings.parquet")`, or `pyreadstat` for the
  labels.

## Checking the files

`SHA256SUMS` lists the SHA-256 of every file: `sha256sum -c SHA256SUMS` checks them all.

## Protection of the experts

Experts appear only as the random pseudonym of their response; no name, e-mail, affiliation,
invitation or token is in these files.

- Submission dates: coarsened to the {report["date_precision"]}, and left empty where fewer
  than k = {report["min_group_size_k"]} responses of a panel share one.
- Smallest panel × submission-date group released: {smallest_text}.
- Comments: included only after a panel admin cleared each one of identifying content
  ({report["comments"]["included_cleared"]} included).

The details are in `deidentification.json`.

## Citation

See `CITATION.cff`. The statistics are described in the platform's `docs/methods.md` and
`docs/reliability.md`.
"""
