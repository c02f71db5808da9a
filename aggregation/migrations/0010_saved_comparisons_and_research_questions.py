"""Saved comparisons: versioned definitions, results beside the presets, inter-role results."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("aggregation", "0009_comparison_method_family_and_reliability_intervals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SavedComparison",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "slug",
                    models.SlugField(
                        help_text="Stored as the results' comparison name.",
                        max_length=50,
                        unique=True,
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                (
                    "question",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("ego_alter", "Russia's ego role against the alter part"),
                            ("ascribed", "Roles ascribed by Russia against the allies' own"),
                            (
                                "inter_role",
                                "Russia's global roles against its regional leader role",
                            ),
                            (
                                "organized_other",
                                "The organized other against the significant others",
                            ),
                        ],
                        help_text="The research question this comparison answers (shipped comparisons).",
                        max_length=20,
                    ),
                ),
                ("order", models.PositiveSmallIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["question", "order", "slug"],
            },
        ),
        migrations.CreateModel(
            name="SavedComparisonVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("roles", "two selectors, role by role"),
                            ("inter_role", "two roles inside one selector"),
                        ],
                        default="roles",
                        max_length=10,
                    ),
                ),
                ("left_panel", models.CharField(max_length=20)),
                ("left_holder", models.CharField(max_length=20)),
                ("left_subject", models.CharField(max_length=20)),
                (
                    "left_perspective",
                    models.CharField(
                        choices=[
                            ("conception", "conception"),
                            ("expectation", "expectation"),
                            ("performance", "performance"),
                        ],
                        max_length=12,
                    ),
                ),
                ("left_estimator", models.CharField(default="plain_means", max_length=50)),
                ("right_panel", models.CharField(blank=True, max_length=20)),
                ("right_holder", models.CharField(blank=True, max_length=20)),
                ("right_subject", models.CharField(blank=True, max_length=20)),
                (
                    "right_perspective",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("conception", "conception"),
                            ("expectation", "expectation"),
                            ("performance", "performance"),
                        ],
                        max_length=12,
                    ),
                ),
                ("right_estimator", models.CharField(blank=True, max_length=50)),
                (
                    "role_a",
                    models.CharField(
                        blank=True, help_text="Inter-role: first role.", max_length=64
                    ),
                ),
                (
                    "role_b",
                    models.CharField(
                        blank=True, help_text="Inter-role: second role.", max_length=64
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "saved_comparison",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="versions",
                        to="aggregation.savedcomparison",
                    ),
                ),
            ],
            options={
                "ordering": ["saved_comparison", "-number"],
            },
        ),
        migrations.CreateModel(
            name="InterRoleResult",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("panel", models.CharField(max_length=20)),
                ("holder", models.CharField(max_length=20)),
                ("subject", models.CharField(max_length=20)),
                (
                    "perspective",
                    models.CharField(
                        choices=[
                            ("conception", "conception"),
                            ("expectation", "expectation"),
                            ("performance", "performance"),
                        ],
                        max_length=12,
                    ),
                ),
                ("role_a", models.CharField(max_length=64)),
                ("role_b", models.CharField(max_length=64)),
                ("n", models.PositiveIntegerField()),
                ("mean_a", models.FloatField(null=True)),
                ("mean_b", models.FloatField(null=True)),
                ("diff", models.FloatField(null=True)),
                ("ci_low", models.FloatField(null=True)),
                ("ci_high", models.FloatField(null=True)),
                ("p_value", models.FloatField(null=True)),
                ("hedges_g", models.FloatField(null=True)),
                ("r", models.FloatField(null=True)),
                ("r_ci_low", models.FloatField(null=True)),
                ("r_ci_high", models.FloatField(null=True)),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inter_roles",
                        to="aggregation.aggregationrun",
                    ),
                ),
                (
                    "saved_version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inter_role_results",
                        to="aggregation.savedcomparisonversion",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="comparisonresult",
            name="saved_version",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty: a preset. Set: the saved comparison (and version) computed.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="results",
                to="aggregation.savedcomparisonversion",
            ),
        ),
        migrations.AddConstraint(
            model_name="savedcomparisonversion",
            constraint=models.UniqueConstraint(
                fields=("saved_comparison", "number"), name="one_number_per_saved_version"
            ),
        ),
        migrations.AddConstraint(
            model_name="savedcomparisonversion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "roles"), ("role_a", ""), ("role_b", "")),
                    models.Q(
                        ("kind", "inter_role"),
                        models.Q(("role_a", ""), _negated=True),
                        models.Q(("role_b", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="saved_version_roles_only_for_inter_role",
            ),
        ),
        migrations.AddIndex(
            model_name="interroleresult",
            index=models.Index(
                fields=["run", "saved_version"], name="aggregation_run_id_3da2ac_idx"
            ),
        ),
    ]
