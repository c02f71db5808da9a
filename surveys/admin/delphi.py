"""Delphi studies in the admin: their rules, their rounds, and the round lifecycle.

A study is started from a wave (the wave list's action "Run as a Delphi study"); its page
sets the feedback, reason and consensus rules; its actions open the next round from the
previous round's closed figures and end the study (``surveys.delphi``). The report of a
study is a reports page (``reports:delphi``).
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from surveys import delphi
from surveys.admin.common import AuditedAdminMixin
from surveys.models import DelphiRound, DelphiStudy


class DelphiRoundInline(admin.TabularInline):
    model = DelphiRound
    fields = ("number", "wave", "wave_status", "has_figures")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wave")

    @admin.display(description="wave status")
    def wave_status(self, obj):
        return obj.wave.get_status_display()

    @admin.display(description="figures stored", boolean=True)
    def has_figures(self, obj):
        return bool(obj.results)


@admin.register(DelphiStudy)
class DelphiStudyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "feedback_scope", "justification", "last_round", "ended_at", "report")
    list_filter = ("feedback_scope", "justification")
    readonly_fields = ("ended_at", "created_at")
    inlines = [DelphiRoundInline]
    actions = ["open_next_round", "open_next_round_new_links", "end_study"]
    audit_name = "delphi"

    def has_add_permission(self, request):
        return False  # a study starts from its round-1 wave (the wave list's action)

    @admin.display(description="report")
    def report(self, obj):
        return format_html(
            '<a href="{}">Delphi report</a>', reverse("reports:delphi", args=[obj.pk])
        )

    def _run(self, request, queryset, verb, **kwargs):
        for study in queryset:
            try:
                if verb == "ended":
                    delphi.delphi_study_end(study=study, user=request.user)
                    text = f"Study “{study}” ended; every round is cut from its experts."
                else:
                    round_, _tokens = delphi.delphi_round_open(
                        study=study, user=request.user, **kwargs
                    )
                    text = f"Round {round_.number} of “{study}” is open as wave {round_.wave.slug}."
                    if kwargs.get("new_links"):
                        text += " Send the new links from the wave's expert page."
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, text, messages.SUCCESS)

    @admin.action(
        description="Open the next round (experts keep their links)", permissions=["change"]
    )
    def open_next_round(self, request, queryset):
        self._run(request, queryset, "opened", new_links=False)

    @admin.action(description="Open the next round with new links", permissions=["change"])
    def open_next_round_new_links(self, request, queryset):
        self._run(request, queryset, "opened", new_links=True)

    @admin.action(
        description="End the study now (stores its figures, cuts every round)",
        permissions=["change"],
    )
    def end_study(self, request, queryset):
        self._run(request, queryset, "ended")
