"""Stored aggregation results, keyed by an aggregation run.

A run is written whole or not at all: its result rows are inserted in one transaction and
the run is marked complete at the end of it. While it runs, its worker renews its lease
(``aggregation.leases``). Readers use the newest complete run of a wave
(``aggregation.selectors.run_latest_complete``); a failed or unfinished run never replaces it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models import Actor, Block, Panel, Perspective, Role, Wave


class AggregationRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "running"
        COMPLETE = "complete", "complete"
        FAILED = "failed", "failed"

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="aggregation_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    estimator_name = models.CharField(max_length=50)
    estimator_version = models.CharField(max_length=20)
    n_ratings = models.PositiveIntegerField(default=0)
    input_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 over the ratings that went in."
    )
    # What identifies the ratings the run counted (aggregation.snapshots): the submitted
    # responses and a fingerprint of their ratings, so that an export pinned to the run holds
    # exactly those ratings, or refuses when they have changed since.
    input_responses = models.JSONField(
        default=list, blank=True, help_text="Ids of the submitted responses the run counted."
    )
    ratings_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 over those responses' ratings; empty: not recorded.",
    )
    started_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A running run whose lease ran out lost its worker (aggregation.leases).",
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        permissions = [("export_results", "Can export aggregates and anonymised ratings")]
        indexes = [models.Index(fields=["wave", "status", "-finished_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="complete") | Q(finished_at__isnull=False),
                name="run_complete_has_finish_time",
            ),
            # The lock that keeps a redelivered task and the sweep's new request from
            # computing the same input twice: only one running run per input and estimator.
            models.UniqueConstraint(
                fields=["wave", "input_fingerprint", "estimator_name", "estimator_version"],
                condition=Q(status="running") & ~Q(input_fingerprint=""),
                name="one_running_run_per_input",
            ),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} of {self.wave.slug} ({self.status})"


class CellResult(models.Model):
    """Statistics of one cell: (panel or all panels, holder, subject, perspective, role)."""

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="cells")
    panel = models.ForeignKey(
        Panel, on_delete=models.CASCADE, null=True, blank=True, help_text="Empty: all panels."
    )
    holder = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="+")
    subject = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="+")
    perspective = models.CharField(max_length=12, choices=Perspective.choices)
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+")
    n = models.PositiveIntegerField()
    n_cannot_judge = models.PositiveIntegerField()
    mean = models.FloatField(null=True)
    median = models.FloatField(null=True)
    sd = models.FloatField(null=True)
    se = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    weighted_mean = models.FloatField(null=True)
    rwg = models.FloatField(null=True, help_text="r_wg truncated at 0.")
    rwg_raw = models.FloatField(null=True, help_text="r_wg before truncation (may be negative).")
    rwg_truncated = models.BooleanField(default=False, help_text="rwg_raw was below 0.")
    estimator = models.CharField(
        max_length=50, db_default="plain_means", help_text="The estimator of this row."
    )
    estimator_version = models.CharField(max_length=20, db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["run", "subject", "perspective"]),
            models.Index(fields=["run", "estimator"], name="cell_run_estimator"),
        ]

    def __str__(self) -> str:
        panel = self.panel.code if self.panel_id else "ALL"
        return f"{panel} {self.holder.code}→{self.subject.code} {self.perspective} {self.role.code}"


class ComparisonResult(models.Model):
    """One role of a named comparison (a preset) or of a saved comparison, for one subject."""

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="comparisons")
    preset = models.CharField(max_length=50)
    subject = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="+")
    left_label = models.CharField(max_length=100)
    right_label = models.CharField(max_length=100)
    # Each side's selector as codes (panel "ALL": every panel pooled).
    left_panel = models.CharField(max_length=20, default="")
    left_holder = models.CharField(max_length=20, default="")
    left_subject = models.CharField(max_length=20, default="")
    left_perspective = models.CharField(max_length=12, default="")
    right_panel = models.CharField(max_length=20, default="")
    right_holder = models.CharField(max_length=20, default="")
    right_subject = models.CharField(max_length=20, default="")
    right_perspective = models.CharField(max_length=12, default="")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(
        max_length=20,
        help_text="The t test: welch (independent sides), paired (the same experts on both "
        "sides) or overlapping (one side pools every panel, the other panel's experts are in "
        "both; partially overlapping samples).",
    )
    n_left = models.PositiveIntegerField(
        help_text="Ratings with a value on the left side; paired: the complete pairs."
    )
    mean_left = models.FloatField(null=True)
    sd_left = models.FloatField(null=True)
    ci_low_left = models.FloatField(null=True)
    ci_high_left = models.FloatField(null=True)
    n_right = models.PositiveIntegerField(
        help_text="Ratings with a value on the right side; paired: the complete pairs."
    )
    mean_right = models.FloatField(null=True)
    sd_right = models.FloatField(null=True)
    ci_low_right = models.FloatField(null=True)
    ci_high_right = models.FloatField(null=True)
    diff = models.FloatField(null=True)
    diff_ci_low = models.FloatField(null=True)
    diff_ci_high = models.FloatField(null=True)
    se_diff = models.FloatField(null=True)
    t = models.FloatField(null=True)
    df = models.FloatField(null=True)
    hedges_g = models.FloatField(null=True)
    p_value = models.FloatField(null=True)
    p_adjusted = models.FloatField(null=True)
    family_size = models.PositiveIntegerField(
        default=0, help_text="Tests in the Benjamini–Hochberg family of p_adjusted."
    )
    family = models.CharField(
        max_length=20,
        default="comparison",
        help_text="The Benjamini–Hochberg family of p_adjusted: comparison (the roles of one "
        "comparison). Reports may adjust over wave_preset (every test of the wave and preset).",
    )
    dominant_left = models.CharField(max_length=64, blank=True)
    dominant_right = models.CharField(max_length=64, blank=True)
    profile_distance = models.FloatField(null=True)
    prob_sign = models.FloatField(
        null=True,
        help_text="Posterior probability that the difference has the sign of its estimate "
        "(ordinal IRT only).",
    )
    estimator = models.CharField(
        max_length=50, db_default="plain_means", help_text="The estimator of this row."
    )
    estimator_version = models.CharField(max_length=20, db_default="")
    saved_version = models.ForeignKey(
        "SavedComparisonVersion",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="results",
        help_text="Empty: a preset. Set: the saved comparison (and version) computed.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["run", "preset", "subject"]),
            models.Index(fields=["run", "estimator"], name="comparison_run_estimator"),
        ]

    def __str__(self) -> str:
        return f"{self.preset} {self.subject.code} {self.role.code}"


class ReliabilityResult(models.Model):
    """Agreement among the experts of one panel on one block (Krippendorff's alpha, ICC)."""

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="reliability")
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE)
    block = models.ForeignKey(Block, on_delete=models.CASCADE, related_name="+")
    n_raters = models.PositiveIntegerField()
    n_units = models.PositiveIntegerField()
    alpha_interval = models.FloatField(null=True)
    alpha_ordinal = models.FloatField(null=True)
    icc1 = models.FloatField(null=True, help_text="One-way ICC(1,1) over the block's items.")
    icc1k = models.FloatField(null=True, help_text="One-way ICC(1,k): of the mean rating.")
    estimator = models.CharField(
        max_length=50, db_default="plain_means", help_text="The estimator of this row."
    )
    estimator_version = models.CharField(max_length=20, db_default="")
    # 95 % percentile bootstrap intervals, resampling the block's items (B = 1,000, seeded by
    # the block: aggregation.reliability_stats.reliability_bootstrap); null where undefined.
    alpha_interval_ci_low = models.FloatField(
        null=True, help_text="95 % bootstrap CI of alpha (interval), lower bound."
    )
    alpha_interval_ci_high = models.FloatField(
        null=True, help_text="95 % bootstrap CI of alpha (interval), upper bound."
    )
    alpha_ordinal_ci_low = models.FloatField(
        null=True, help_text="95 % bootstrap CI of alpha (ordinal), lower bound."
    )
    alpha_ordinal_ci_high = models.FloatField(
        null=True, help_text="95 % bootstrap CI of alpha (ordinal), upper bound."
    )
    icc1_ci_low = models.FloatField(
        null=True, help_text="95 % bootstrap CI of ICC(1,1), lower bound."
    )
    icc1_ci_high = models.FloatField(
        null=True, help_text="95 % bootstrap CI of ICC(1,1), upper bound."
    )
    icc1k_ci_low = models.FloatField(
        null=True, help_text="95 % bootstrap CI of ICC(1,k), lower bound."
    )
    icc1k_ci_high = models.FloatField(
        null=True, help_text="95 % bootstrap CI of ICC(1,k), upper bound."
    )

    def __str__(self) -> str:
        return f"{self.panel.code} block {self.block.order}"


class WaveChangeResult(models.Model):
    """Change of one cell since the previous wave: this run's mean minus that run's."""

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="changes")
    previous_run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="+")
    panel = models.ForeignKey(
        Panel, on_delete=models.CASCADE, null=True, blank=True, help_text="Empty: all panels."
    )
    holder = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="+")
    subject = models.ForeignKey(Actor, on_delete=models.CASCADE, related_name="+")
    perspective = models.CharField(max_length=12, choices=Perspective.choices)
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+")
    n_t = models.PositiveIntegerField()
    mean_t = models.FloatField(null=True)
    n_prev = models.PositiveIntegerField()
    mean_prev = models.FloatField(null=True)
    diff = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    p_value = models.FloatField(null=True)

    class Meta:
        indexes = [models.Index(fields=["run", "subject", "perspective"])]

    def __str__(self) -> str:
        return f"Δ {self.holder_id}→{self.subject_id} {self.perspective} {self.role_id}"


class EstimatorResult(models.Model):
    """One estimator's result set in a run: whether it applies, how it was fitted and its
    fit diagnostics. Its cells, comparisons and reliability are the run's result rows tagged
    with the same ``estimator``."""

    class Status(models.TextChoices):
        COMPLETE = "complete", "complete"
        NOT_APPLICABLE = "not_applicable", "not applicable"
        FAILED = "failed", "failed"

    run = models.ForeignKey(
        AggregationRun, on_delete=models.CASCADE, related_name="estimator_results"
    )
    estimator = models.CharField(max_length=50)
    estimator_version = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices)
    note = models.TextField(blank=True, help_text="Why not applicable, or the error.")
    mode = models.CharField(
        max_length=10, blank=True, help_text="Ordinal IRT: fast (posterior mode) or full (NUTS)."
    )
    converged = models.BooleanField(
        null=True, help_text="Empty where the estimator has no convergence to check."
    )
    rhat_share_above = models.FloatField(null=True, help_text="Share of R-hats above 1.01.")
    ess_bulk_min = models.FloatField(null=True, help_text="Smallest bulk effective sample size.")
    seconds = models.FloatField(null=True)
    diagnostics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "estimator"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "estimator"], name="one_result_set_per_estimator"
            )
        ]

    def __str__(self) -> str:
        return f"{self.estimator} {self.estimator_version} of run #{self.run_id} ({self.status})"


class PosteriorJob(models.Model):
    """The full posterior (NUTS) of the ordinal IRT for one run, computed in the background.

    When it completes, the run's ``ordinal_irt`` rows are replaced by the posterior's and its
    result set records mode ``full`` and the convergence diagnostics.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        COMPLETE = "complete", "complete"
        FAILED = "failed", "failed"

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="posterior_jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=20, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["run"],
                condition=Q(status__in=["queued", "running"]),
                name="one_open_posterior_job_per_run",
            )
        ]

    def __str__(self) -> str:
        return f"Full posterior of run #{self.run_id} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class PendingAggregation(models.Model):
    """A durable request to aggregate a wave, written in the same transaction as the ratings.

    It survives a broker that is down: the periodic sweep and a starting worker dispatch
    every request still pending. A run removes the request only if nothing newer arrived.
    """

    wave = models.OneToOneField(Wave, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Pending aggregation of {self.wave.slug}"


class SavedComparison(models.Model):
    """A comparison a researcher keeps: computed in every later aggregation run.

    Its definition lives in numbered ``SavedComparisonVersion`` rows; editing adds a version,
    so results stored under an older version keep pointing at the definition they used.
    Shipped comparisons answer the research questions of the study (``question``).
    """

    class Question(models.TextChoices):
        EGO_ALTER = "ego_alter", _("Russia's ego role against the alter part")
        ASCRIBED = "ascribed", _("Roles ascribed by Russia against the allies' own")
        INTER_ROLE = "inter_role", _("Russia's global roles against its regional leader role")
        ORGANIZED_OTHER = "organized_other", _("The organized other against the significant others")

    slug = models.SlugField(
        max_length=50, unique=True, help_text="Stored as the results' comparison name."
    )
    name = models.CharField(max_length=200)
    question = models.CharField(
        max_length=20,
        choices=Question.choices,
        blank=True,
        help_text="The research question this comparison answers (shipped comparisons).",
    )
    order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["question", "order", "slug"]

    def __str__(self) -> str:
        return self.name


class SavedComparisonVersion(models.Model):
    """One immutable definition of a saved comparison: two selectors (``roles``: compared
    role by role) or one selector and two of its roles (``inter_role``)."""

    class Kind(models.TextChoices):
        ROLES = "roles", _("two selectors, role by role")
        INTER_ROLE = "inter_role", _("two roles inside one selector")

    saved_comparison = models.ForeignKey(
        SavedComparison, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROLES)
    # Each side as codes; panel "ALL" pools every panel.
    left_panel = models.CharField(max_length=20)
    left_holder = models.CharField(max_length=20)
    left_subject = models.CharField(max_length=20)
    left_perspective = models.CharField(max_length=12, choices=Perspective.choices)
    left_estimator = models.CharField(max_length=50, default="plain_means")
    right_panel = models.CharField(max_length=20, blank=True)
    right_holder = models.CharField(max_length=20, blank=True)
    right_subject = models.CharField(max_length=20, blank=True)
    right_perspective = models.CharField(max_length=12, choices=Perspective.choices, blank=True)
    right_estimator = models.CharField(max_length=50, blank=True)
    role_a = models.CharField(max_length=64, blank=True, help_text="Inter-role: first role.")
    role_b = models.CharField(max_length=64, blank=True, help_text="Inter-role: second role.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["saved_comparison", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["saved_comparison", "number"], name="one_number_per_saved_version"
            ),
            models.CheckConstraint(
                condition=Q(kind="roles", role_a="", role_b="")
                | Q(kind="inter_role") & ~Q(role_a="") & ~Q(role_b=""),
                name="saved_version_roles_only_for_inter_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.saved_comparison.slug} v{self.number}"


class InterRoleResult(models.Model):
    """Two roles inside one selector compared over the same experts (a saved inter-role
    comparison in one run): paired difference and the correlation across experts."""

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="inter_roles")
    saved_version = models.ForeignKey(
        SavedComparisonVersion, on_delete=models.CASCADE, related_name="inter_role_results"
    )
    panel = models.CharField(max_length=20)
    holder = models.CharField(max_length=20)
    subject = models.CharField(max_length=20)
    perspective = models.CharField(max_length=12, choices=Perspective.choices)
    role_a = models.CharField(max_length=64)
    role_b = models.CharField(max_length=64)
    n = models.PositiveIntegerField()
    mean_a = models.FloatField(null=True)
    mean_b = models.FloatField(null=True)
    diff = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    p_value = models.FloatField(null=True)
    hedges_g = models.FloatField(null=True)
    r = models.FloatField(null=True)
    r_ci_low = models.FloatField(null=True)
    r_ci_high = models.FloatField(null=True)

    class Meta:
        indexes = [models.Index(fields=["run", "saved_version"])]

    def __str__(self) -> str:
        return f"{self.saved_version} {self.role_a} − {self.role_b}"
