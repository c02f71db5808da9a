"""Serializers of stored results, trends, anonymised raw ratings and export jobs.

The list views hand over ``values()`` rows (codes already joined by the database), so these
serializers only name and type the fields. A raw rating carries its response's pseudonym,
never an expert, invitation or response id.
"""

from rest_framework import serializers

from aggregation.estimators import ESTIMATORS
from aggregation.exports import FORMATS, TABLES
from aggregation.exports.jobs import RELEASE_TABLE
from surveys.api.query import QueryBooleanField, QueryChoiceField


def _number(**kwargs) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, read_only=True, **kwargs)


class RunFieldsMixin(serializers.Serializer):
    wave = serializers.CharField(source="wave_slug", read_only=True)
    round = serializers.IntegerField(
        read_only=True,
        help_text="Delphi round of the wave: 1 for round 1 and for every ordinary wave; a later "
        "round's results are computed from that round alone.",
    )
    run = serializers.IntegerField(source="run_id", read_only=True)
    estimator = serializers.CharField(source="estimator_name", read_only=True)
    estimator_version = serializers.CharField(read_only=True)
    converged = serializers.BooleanField(
        source="estimator_converged",
        read_only=True,
        allow_null=True,
        help_text="false: the estimator's fit did not converge (for the full posterior: more "
        "than 5 % of the R-hats exceed 1.01); null: nothing to converge.",
    )


class CellSerializer(RunFieldsMixin):
    panel = serializers.CharField(
        source="panel_code", read_only=True, help_text="Panel code, or ALL for pooled."
    )
    holder = serializers.CharField(source="holder_code", read_only=True)
    subject = serializers.CharField(source="subject_code", read_only=True)
    perspective = serializers.CharField(read_only=True)
    role = serializers.CharField(source="role_code", read_only=True)
    n = serializers.IntegerField(read_only=True)
    n_cannot_judge = serializers.IntegerField(read_only=True)
    mean = _number()
    median = _number()
    sd = _number()
    se = _number()
    ci_low = _number()
    ci_high = _number()
    weighted_mean = _number(help_text="Confidence-weighted mean.")
    rwg = _number(help_text="Within-cell agreement r_wg, truncated at 0.")
    rwg_raw = _number(help_text="r_wg before truncation; negative: more disagreement than chance.")
    rwg_truncated = serializers.BooleanField(read_only=True, help_text="rwg_raw was below 0.")


class ComparisonSerializer(RunFieldsMixin):
    preset = serializers.CharField(read_only=True)
    subject = serializers.CharField(source="subject_code", read_only=True)
    role = serializers.CharField(source="role_code", read_only=True)
    left_label = serializers.CharField(read_only=True)
    right_label = serializers.CharField(read_only=True)
    left_panel = serializers.CharField(read_only=True, help_text="Panel code; ALL: pooled.")
    left_holder = serializers.CharField(read_only=True)
    left_subject = serializers.CharField(read_only=True)
    left_perspective = serializers.CharField(read_only=True)
    right_panel = serializers.CharField(read_only=True, help_text="Panel code; ALL: pooled.")
    right_holder = serializers.CharField(read_only=True)
    right_subject = serializers.CharField(read_only=True)
    right_perspective = serializers.CharField(read_only=True)
    method = serializers.CharField(
        read_only=True,
        help_text="welch: independent sides; paired: the same experts on both sides; "
        "overlapping: partially overlapping samples (one side pools every panel).",
    )
    n_left = serializers.IntegerField(
        read_only=True, help_text="Ratings with a value; paired: complete pairs."
    )
    mean_left = _number()
    sd_left = _number()
    ci_low_left = _number()
    ci_high_left = _number()
    n_right = serializers.IntegerField(
        read_only=True, help_text="Ratings with a value; paired: complete pairs (= n_left)."
    )
    mean_right = _number()
    sd_right = _number()
    ci_low_right = _number()
    ci_high_right = _number()
    diff = _number()
    diff_ci_low = _number()
    diff_ci_high = _number()
    se_diff = _number(help_text="Standard error of the difference.")
    t = _number(help_text="t statistic.")
    df = _number(help_text="Degrees of freedom.")
    hedges_g = _number()
    p_value = _number()
    p_adjusted = _number(help_text="Benjamini–Hochberg within the family named by family.")
    family_size = serializers.IntegerField(
        read_only=True, help_text="Number of p-values in the Benjamini–Hochberg family."
    )
    family = serializers.CharField(
        read_only=True,
        help_text="The Benjamini–Hochberg family: comparison (the roles of one comparison).",
    )
    dominant_left = serializers.CharField(read_only=True)
    dominant_right = serializers.CharField(read_only=True)
    profile_distance = _number()
    prob_sign = _number(
        help_text="Ordinal IRT: the posterior probability that the difference has the sign of "
        "its estimate (no t test, so no p-value)."
    )


class ReliabilitySerializer(RunFieldsMixin):
    panel = serializers.CharField(source="panel_code", read_only=True)
    block = serializers.IntegerField(source="block_order", read_only=True)
    holder = serializers.CharField(source="holder_code", read_only=True)
    subject = serializers.CharField(source="subject_code", read_only=True)
    perspective = serializers.CharField(source="block_perspective", read_only=True)
    n_raters = serializers.IntegerField(read_only=True)
    n_units = serializers.IntegerField(read_only=True)
    alpha_interval = _number(help_text="Krippendorff's alpha, interval metric.")
    alpha_ordinal = _number(help_text="Krippendorff's alpha, ordinal metric.")
    icc1 = _number(help_text="One-way ICC(1,1) (Shrout & Fleiss 1979), items as targets.")
    icc1k = _number(help_text="One-way ICC(1,k): reliability of the mean rating.")
    alpha_interval_ci_low = _number(help_text="95% bootstrap CI of alpha_interval, lower.")
    alpha_interval_ci_high = _number(help_text="95% bootstrap CI of alpha_interval, upper.")
    alpha_ordinal_ci_low = _number(help_text="95% bootstrap CI of alpha_ordinal, lower.")
    alpha_ordinal_ci_high = _number(help_text="95% bootstrap CI of alpha_ordinal, upper.")
    icc1_ci_low = _number(help_text="95% bootstrap CI of icc1, lower.")
    icc1_ci_high = _number(help_text="95% bootstrap CI of icc1, upper.")
    icc1k_ci_low = _number(help_text="95% bootstrap CI of icc1k, lower.")
    icc1k_ci_high = _number(help_text="95% bootstrap CI of icc1k, upper.")


class TrendSerializer(RunFieldsMixin):
    panel = serializers.CharField(source="panel_code", read_only=True)
    holder = serializers.CharField(source="holder_code", read_only=True)
    subject = serializers.CharField(source="subject_code", read_only=True)
    perspective = serializers.CharField(read_only=True)
    role = serializers.CharField(source="role_code", read_only=True)
    wave_opens_at = serializers.DateTimeField(allow_null=True, read_only=True)
    n = serializers.IntegerField(read_only=True)
    mean = _number()
    sd = _number()
    ci_low = _number()
    ci_high = _number()


class RatingSerializer(serializers.Serializer):
    """One anonymised raw rating: exactly these fields, nothing that leads to the expert."""

    wave = serializers.CharField(source="wave_slug", read_only=True)
    round = serializers.IntegerField(
        read_only=True,
        help_text="Delphi round of the wave: 1 for round 1 (the primary data) and for every "
        "ordinary wave; 2 and later for the rounds answered after seeing the group's answers.",
    )
    pseudonym = serializers.CharField(read_only=True)
    panel = serializers.CharField(source="panel_code", read_only=True)
    holder = serializers.CharField(source="holder_code", read_only=True)
    subject = serializers.CharField(source="subject_code", read_only=True)
    perspective = serializers.CharField(source="perspective_name", read_only=True)
    role = serializers.CharField(source="role_code", read_only=True)
    value = serializers.IntegerField(allow_null=True, read_only=True)
    cannot_judge = serializers.BooleanField(read_only=True)
    confidence = serializers.IntegerField(allow_null=True, read_only=True)
    submitted_on = serializers.DateField(
        allow_null=True,
        read_only=True,
        help_text="Submission date coarsened to EXPORT_DATE_PRECISION (by default the first "
        "day of its month, UTC); null where fewer than EXPORT_MIN_GROUP_SIZE responses of the "
        "wave and panel share it.",
    )
    source = serializers.ChoiceField(
        choices=["web", "import"],
        read_only=True,
        help_text="web: answered in the web form; import: imported from a file.",
    )


ESTIMATOR_HELP = (
    "The estimator whose results to export (default plain_means); any case. Raw ratings take none."
)


class EstimatorQuerySerializer(serializers.Serializer):
    estimator = QueryChoiceField(
        choices=ESTIMATORS, default="plain_means", help_text=ESTIMATOR_HELP
    )


class DownloadQuerySerializer(EstimatorQuerySerializer):
    file_format = QueryChoiceField(choices=FORMATS, default="csv", help_text="Any case.")
    bundle = QueryBooleanField(
        default=False,
        help_text="true: a ZIP with the data, codebook.csv, codebook.json and metadata.json. "
        "`true`, `false`, `1` or `0`, in any case.",
    )
    run = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Pin the export to this complete aggregation run of the wave: its results, "
        "and exactly the raw ratings it counted (409 if they have changed since). Default: the "
        "newest complete run, and the raw ratings as of now.",
    )


class ExportLinkQuerySerializer(serializers.Serializer):
    signature = serializers.CharField(
        default="", help_text="The signature of the job's download_url (it expires)."
    )


class ExportJobRequestSerializer(serializers.Serializer):
    wave = serializers.SlugField(help_text="The wave's slug.")
    table = serializers.ChoiceField(
        choices=(*TABLES, RELEASE_TABLE),
        help_text="A table, or `release`: the wave's whole release bundle (every table in "
        "CSV, Parquet, Stata and SPSS, codebook, datapackage.json, scripts, checksums).",
    )
    file_format = serializers.ChoiceField(
        choices=FORMATS, required=False, help_text="Required for a table; not for `release`."
    )
    run = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Pin the export to this complete aggregation run of the wave (see download).",
    )
    estimator = serializers.ChoiceField(
        choices=ESTIMATORS, default="plain_means", help_text=ESTIMATOR_HELP
    )

    def validate(self, attrs):
        if attrs["table"] == RELEASE_TABLE:
            attrs["file_format"] = "zip"
        elif "file_format" not in attrs:
            raise serializers.ValidationError({"file_format": "This field is required."})
        return attrs


class ExportJobSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField(help_text="queued, running, done or failed.")
    wave = serializers.CharField()
    table = serializers.CharField()
    format = serializers.CharField()
    run = serializers.IntegerField(
        allow_null=True, help_text="The aggregation run the export is pinned to, if any."
    )
    rows = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the ZIP when done.")
    error = serializers.CharField(allow_blank=True)
    status_url = serializers.URLField()
    download_url = serializers.URLField(
        allow_null=True, help_text="Signed link to the ZIP, while it is valid (see expires_at)."
    )
    expires_at = serializers.DateTimeField(allow_null=True)
