"""Forms of the expert questionnaire: they check the shape of a post, services its meaning.

``BlockAnswersForm`` turns the raw fields of a block page (``v-<item id>`` for the scale,
*cannot judge*, or empty for "no answer"; ``c-<item id>`` for the confidence; ``comment``;
``change_id`` and ``change_sequence``, which the page's JavaScript adds; in a Delphi round
``j-<item id>`` for the reason of a revised answer and ``keep``, the item whose previous
answer the expert keeps) into ``Answer``
values and a ``BlockChange``; anything it does not expect is an error. Whether the items
belong to the page and the values to the scale is for
``surveys.questionnaire.response_save_block`` to decide.
"""

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from surveys.questionnaire import COMMENT_MAX_LENGTH, Answer, BlockChange
from surveys.selectors import CANNOT_JUDGE

ANSWER_FIELD = re.compile(r"(?P<kind>[vcj])-(?P<item>[0-9]{1,12})")
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,4}")
CHANGE_ID = re.compile(r"[0-9A-Za-z-]{8,64}")
CHANGE_SEQUENCE_MAX = 2**53 - 1  # the largest whole number a browser counts exactly
FIXED_FIELDS = {"csrfmiddlewaretoken", "comment", "action", "change_id", "change_sequence", "keep"}


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        label=_("I have read the above and agree to take part in this survey."),
        error_messages={"required": _("Please confirm that you agree before you start.")},
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=500)


class BlockAnswersForm(forms.Form):
    """A block page's post. ``action`` says where to go after saving (and whether to submit)."""

    class Action:
        NEXT = "next"
        BACK = "back"
        SAVE = "save"
        REVIEW = "review"
        SUBMIT = "submit"  # as REVIEW: a response is submitted only from the review page

    comment = forms.CharField(required=False, max_length=COMMENT_MAX_LENGTH)
    action = forms.ChoiceField(
        required=False,
        choices=[(action, action) for action in ("next", "back", "save", "review", "submit")],
    )
    change_id = forms.RegexField(regex=CHANGE_ID, required=False)
    change_sequence = forms.IntegerField(required=False, min_value=1, max_value=CHANGE_SEQUENCE_MAX)
    keep = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        cleaned = super().clean()
        values: dict[int, str] = {}
        confidences: dict[int, str] = {}
        justifications: dict[int, str] = {}
        problems = []
        for key in sorted(self.data.keys()):
            entries = self.data.getlist(key)
            if len(entries) > 1:
                problems.append(gettext("“%(field)s” was sent more than once.") % {"field": key})
                continue
            if key in FIXED_FIELDS:
                continue
            match = ANSWER_FIELD.fullmatch(key)
            if match is None:
                problems.append(
                    gettext("“%(field)s” is not a field of this form.") % {"field": key}
                )
                continue
            item_id, entry = int(match["item"]), entries[0]
            if match["kind"] == "j":
                justifications[item_id] = entry  # free text; its length is the service's
                continue
            if match["kind"] == "v":
                if entry and entry != CANNOT_JUDGE and not WHOLE_NUMBER.fullmatch(entry):
                    problems.append(
                        gettext("“%(field)s”: “%(value)s” is not a whole number or “%(cj)s”.")
                        % {"field": key, "value": entry[:40], "cj": CANNOT_JUDGE}
                    )
                    continue
                values[item_id] = entry
            else:
                if entry and not WHOLE_NUMBER.fullmatch(entry):
                    problems.append(
                        gettext("“%(field)s”: “%(value)s” is not a whole number.")
                        % {"field": key, "value": entry[:40]}
                    )
                    continue
                confidences[item_id] = entry
        if bool(cleaned.get("change_id")) != (cleaned.get("change_sequence") is not None):
            problems.append(gettext("A change needs both its id and its sequence."))
        for problem in problems:
            self.add_error(None, problem)
        self._values, self._confidences = values, confidences
        self._justifications = justifications
        return cleaned

    def answers(self) -> list[Answer]:
        """One ``Answer`` per item the post mentions; call after ``is_valid()``."""
        answers = []
        for item_id in sorted(self._values.keys() | self._confidences.keys()):
            entry = self._values.get(item_id, "")
            confidence = self._confidences.get(item_id, "")
            answers.append(
                Answer(
                    item_id=item_id,
                    value=int(entry) if entry and entry != CANNOT_JUDGE else None,
                    cannot_judge=entry == CANNOT_JUDGE,
                    # Checked by the service, but stored only with a value.
                    confidence=int(confidence) if confidence else None,
                )
            )
        return answers

    def justifications(self) -> dict[int, str]:
        """The reasons given for revised answers of a Delphi round, by item id."""
        return dict(self._justifications)

    def change(self) -> BlockChange | None:
        """The browser's mark on this snapshot of the page, if it sent one."""
        if not self.cleaned_data.get("change_id"):
            return None
        return BlockChange(
            change_id=self.cleaned_data["change_id"],
            sequence=self.cleaned_data["change_sequence"],
        )

    def error_messages(self) -> list[str]:
        return [message for errors in self.errors.values() for message in errors]
