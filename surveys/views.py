"""The expert questionnaire behind a personal link ``/s/<token>/``.

Views validate input, call a service of ``surveys.questionnaire``, and render what a selector
of ``surveys.selectors`` prepared. ``questionnaire_view`` does what every page shares:
resolve the link (an unusable one gets the same 404 page whatever the reason), turn
oversized posts into a clean 400 before the CSRF check reads them, activate the
invitation's language with its fallbacks, mark the page private (no cache, no
third-party anything, no referrer at all) and compress it for clients that accept
gzip (Django's ``GZipMiddleware``, whose random padding of every response since Django 4.2,
with the per-response masking of the CSRF token, keeps a BREACH attack from reading the
token; the link's own token is in the URL, which an attacker would need to know already).

The autosave is checked by origin, not by CSRF token. A browser that was offline replays
its queued changes later, maybe after the CSRF cookie has changed or gone; a stale token
must not strand them. The link's token in the URL is what authorises a change, and CSRF
protection exists against other sites making the browser post: a post whose ``Origin`` or
``Sec-Fetch-Site`` header names another site is refused (403). Requests without either
header do not come from a current browser's page on another site.
"""

import hashlib
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST, require_safe

from project.middleware import csrf_protect_no_referrer
from surveys import delphi_selectors, selectors
from surveys.delphi import answers_keep, delphi_block_save, delphi_reasons_missing
from surveys.forms import BlockAnswersForm, ConsentForm, LanguageForm
from surveys.middleware import (
    language_override,
    language_supported,
    translation_fallbacks_install,
)
from surveys.models import Invitation, Response
from surveys.questionnaire import (
    ResponseLockedError,
    block_change_sequence,
    invitation_language,
    invitation_language_set,
    invitation_mark_opened,
    invitation_resolve,
    response_save_block,
    response_start,
    response_submit,
)
from surveys.wording import language_options

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def _private(response: HttpResponse) -> HttpResponse:
    """Headers of every questionnaire page: nothing cached, loaded from or referred anywhere.

    The referrer policy is ``no-referrer``: the link is the expert's key, so not even this
    site's own style sheet and script requests carry it (a ``Referer`` ends up in access
    logs). Browsers then post the forms with ``Origin: null``, which
    ``csrf_protect_no_referrer`` accepts from the same site.
    """
    add_never_cache_headers(response)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def link_invalid(request: HttpRequest) -> HttpResponse:
    """The one page for an unknown, malformed, expired or closed link."""
    translation_fallbacks_install(get_language())
    return _private(render(request, "surveys/link_invalid.html", status=404))


def _bad_request(
    request: HttpRequest, errors: list[str], *, as_json: bool, status: int = 400
) -> HttpResponse:
    if as_json:
        return JsonResponse({"ok": False, "errors": errors}, status=status)
    return render(
        request,
        "surveys/bad_request.html",
        {"errors": errors, "back_url": request.path, "status": status},
        status=status,
    )


def _same_origin(request: HttpRequest) -> bool:
    """Whether a post comes from a page of this site (see the module docstring)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        # The pages send no referrer, so a browser may post with ``Origin: null``; then
        # only its own ``Sec-Fetch-Site`` can tell that the post came from this site.
        return fetch_site == "same-origin"
    return origin == f"{request.scheme}://{request.get_host()}" or origin in getattr(
        settings, "CSRF_TRUSTED_ORIGINS", []
    )


def questionnaire_view(*, as_json: bool = False, origin_checked: bool = False) -> Callable:
    """Wrap a view ``view(request, *, invitation, language, **kwargs)`` of a personal link.

    Posts are checked by CSRF token, or with ``origin_checked`` by origin only (the
    autosave, whose queued changes must survive a stale token).
    """

    def decorate(view: Callable) -> Callable:
        protected = view if origin_checked else csrf_protect_no_referrer(view)

        @gzip_page
        @csrf_exempt  # checked below, once an oversized post has been answered cleanly
        @wraps(view)
        def wrapped(request: HttpRequest, token: str, **kwargs) -> HttpResponse:
            invitation = invitation_resolve(token=token)
            if invitation is None:
                return link_invalid(request)
            with language_override(invitation_language(invitation=invitation)) as language:
                if request.method == "GET" and "lang" in request.GET:
                    with suppress(ValidationError):  # an unknown language changes nothing
                        invitation_language_set(invitation=invitation, language=request.GET["lang"])
                    return _private(redirect(request.path))
                if request.method == "POST" and origin_checked and not _same_origin(request):
                    message = gettext("Your answers were sent from another website: refused.")
                    response = _bad_request(request, [message], as_json=as_json, status=403)
                elif request.method == "POST":
                    try:
                        request.POST  # noqa: B018 - reading it is the size check
                    except (RequestDataTooBig, TooManyFieldsSent):
                        message = gettext(
                            "Your answers could not be read: the form sent was too large."
                        )
                        response = _bad_request(request, [message], as_json=as_json)
                    else:
                        response = protected(
                            request, invitation=invitation, language=language, **kwargs
                        )
                else:
                    response = view(request, invitation=invitation, language=language, **kwargs)
                response.headers.setdefault("Content-Language", language)
            return _private(response)

        return wrapped

    return decorate


def _context(request: HttpRequest, *, invitation: Invitation, language: str, **extra) -> dict:
    """What the base layout needs on every page of a link: the switcher, the wave's title
    and the banner."""
    questionnaire = selectors.questionnaire_get(
        wave=invitation.wave, panel_id=invitation.expert.panel_id
    )
    return {
        "token": _token(request),
        "language_url": reverse("surveys:language", args=[_token(request)]),
        "language_next": request.get_full_path(),
        "language_options": language_options(
            current=language, languages=invitation.wave.language_codes
        ),
        "is_synthetic": invitation.wave.is_synthetic,
        "wave_title": selectors.wave_title(questionnaire, language),
        **extra,
    }


def _token(request: HttpRequest) -> str:
    return request.resolver_match.kwargs["token"]


def _block_url(request: HttpRequest, order: int) -> str:
    return reverse("surveys:block", args=[_token(request), order])


def _questionnaire(invitation: Invitation, response: Response) -> selectors.Questionnaire:
    return selectors.questionnaire_get(wave=invitation.wave, panel_id=response.panel_id)


def _resume(request: HttpRequest, *, invitation: Invitation, response: Response) -> HttpResponse:
    """Go where the expert stopped: the thank-you page, a block, or the review page."""
    token = _token(request)
    if response.status == Response.Status.SUBMITTED:
        return redirect("surveys:thanks", token)
    questionnaire = _questionnaire(invitation, response)
    order = selectors.response_resume_order(response=response, questionnaire=questionnaire)
    return redirect(
        _block_url(request, order) if order is not None else reverse("surveys:review", args=[token])
    )


def _landing_page(invitation: Invitation, language: str) -> selectors.LandingPage:
    questionnaire = selectors.questionnaire_get(
        wave=invitation.wave, panel_id=invitation.expert.panel_id
    )
    return selectors.landing_page(
        invitation=invitation, questionnaire=questionnaire, language=language
    )


@questionnaire_view()
def landing(request: HttpRequest, *, invitation: Invitation, language: str) -> HttpResponse:
    """Purpose, who sees what, anonymity, consent; a started link resumes instead."""
    response = selectors.response_for_invitation(invitation=invitation)
    if request.method == "POST":
        form = ConsentForm(request.POST)
        if form.is_valid():
            response = response or response_start(invitation=invitation)
            return _resume(request, invitation=invitation, response=response)
    elif response is not None:
        return _resume(request, invitation=invitation, response=response)
    else:
        invitation_mark_opened(invitation=invitation)
        form = ConsentForm()
    page = _landing_page(invitation, language)
    context = _context(request, invitation=invitation, language=language, page=page, form=form)
    return render(request, "surveys/landing.html", context)


@questionnaire_view()
@require_safe
def about(request: HttpRequest, *, invitation: Invitation, language: str) -> HttpResponse:
    """The landing page's texts again, for an expert who has already started."""
    response = selectors.response_for_invitation(invitation=invitation)
    if response is None:
        return redirect("surveys:landing", _token(request))
    page = _landing_page(invitation, language)
    context = _context(
        request,
        invitation=invitation,
        language=language,
        page=page,
        continue_url=reverse("surveys:resume", args=[_token(request)]),
    )
    return render(request, "surveys/landing.html", context)


@questionnaire_view()
@require_safe
def resume(request: HttpRequest, *, invitation: Invitation, language: str) -> HttpResponse:
    response = selectors.response_for_invitation(invitation=invitation)
    if response is None:
        return redirect("surveys:landing", _token(request))
    return _resume(request, invitation=invitation, response=response)


@dataclass(frozen=True)
class _Saved:
    response: Response
    questionnaire: selectors.Questionnaire
    action: str
    applied: bool
    anchor: str = ""


class _Refused(Exception):
    """A post that stores nothing; ``response`` is the 400 or 409 to answer with."""

    def __init__(self, response: HttpResponse):
        super().__init__(response.status_code)
        self.response = response


def _save_block(request: HttpRequest, *, invitation: Invitation, order: int, as_json: bool):
    """Parse a block page's post and store it, or raise ``_Refused`` with the answer."""
    response = selectors.response_for_invitation(invitation=invitation)
    if response is None:
        message = gettext("Please agree to take part on the first page before answering.")
        raise _Refused(_bad_request(request, [message], as_json=as_json, status=409))
    form = BlockAnswersForm(request.POST)
    if not form.is_valid():
        raise _Refused(_bad_request(request, form.error_messages(), as_json=as_json))
    questionnaire = _questionnaire(invitation, response)
    block = questionnaire.block(order)
    if block is None:
        message = gettext("This page is not part of your questionnaire.")
        raise _Refused(_bad_request(request, [message], as_json=as_json))
    action = form.cleaned_data["action"] or BlockAnswersForm.Action.NEXT
    delphi = delphi_selectors.delphi_page(invitation=invitation, language=get_language())
    keep = form.cleaned_data.get("keep")
    try:
        if delphi is None:
            saved = response_save_block(
                response=response,
                block=block,
                answers=form.answers(),
                comment=form.cleaned_data["comment"],
                change=form.change(),
            )
        else:
            answers = form.answers()
            if keep:  # one tap: the page as posted, with this item's previous answer
                answers = answers_keep(answers=answers, keep_item_id=keep, feedback=delphi.feedback)
                action = BlockAnswersForm.Action.SAVE
            saved = delphi_block_save(
                response=response,
                block=block,
                answers=answers,
                comment=form.cleaned_data["comment"],
                change=None if keep else form.change(),
                justifications=form.justifications(),
                feedback=delphi.feedback,
                # Reasons are asked for when the page is left by its buttons, not while
                # it autosaves or keeps an answer.
                required=delphi.required and bool(form.cleaned_data["action"]) and not keep,
            )
    except ResponseLockedError as error:
        raise _Refused(_locked(request, error.messages, as_json=as_json)) from error
    except ValidationError as error:
        raise _Refused(_bad_request(request, error.messages, as_json=as_json)) from error
    return _Saved(
        response=saved.response,
        questionnaire=questionnaire,
        action=action,
        applied=saved.applied,
        anchor=f"#row-{keep}" if keep else "",
    )


def _after_save(request: HttpRequest, *, order: int, saved: _Saved) -> HttpResponse:
    """Where a block page's buttons lead once it is saved: never past the review page."""
    if saved.action in (BlockAnswersForm.Action.REVIEW, BlockAnswersForm.Action.SUBMIT):
        return redirect("surveys:review", _token(request))
    orders = saved.questionnaire.orders
    position = orders.index(order)
    if saved.action == BlockAnswersForm.Action.SAVE:
        return redirect(f"{_block_url(request, order)}?saved=1{saved.anchor}")
    if saved.action == BlockAnswersForm.Action.BACK:
        if position == 0:
            return redirect("surveys:about", _token(request))
        return redirect(_block_url(request, orders[position - 1]))
    if saved.action == BlockAnswersForm.Action.NEXT and position + 1 < len(orders):
        return redirect(_block_url(request, orders[position + 1]))
    return redirect("surveys:review", _token(request))


def _locked(request: HttpRequest, errors: list[str], *, as_json: bool) -> HttpResponse:
    if as_json:
        return JsonResponse({"ok": False, "errors": errors}, status=409)
    thanks_url = reverse("surveys:thanks", args=[_token(request)])
    context = {"errors": errors, "thanks_url": thanks_url}
    return render(request, "surveys/locked.html", context, status=409)


@questionnaire_view()
def block(request: HttpRequest, *, invitation: Invitation, language: str, order: int):
    """One block: the prompt and a fieldset per role. Posting saves it and moves on.

    On the last block the main button leads to the review page, which alone submits.
    """
    if request.method == "POST":
        try:
            saved = _save_block(request, invitation=invitation, order=order, as_json=False)
        except _Refused as refused:
            return refused.response
        return _after_save(request, order=order, saved=saved)

    response = selectors.response_for_invitation(invitation=invitation)
    if response is None:
        return redirect("surveys:landing", _token(request))
    if response.status == Response.Status.SUBMITTED:
        return redirect("surveys:thanks", _token(request))
    questionnaire = _questionnaire(invitation, response)
    delphi = delphi_selectors.delphi_page(invitation=invitation, language=language)
    page = selectors.block_page(
        response=response,
        questionnaire=questionnaire,
        order=order,
        language=language,
        feedback_html=(
            delphi_selectors.delphi_feedback_html(page=delphi, response=response)
            if delphi
            else None
        ),
    )
    if page is None:
        context = _context(
            request,
            invitation=invitation,
            language=language,
            continue_url=reverse("surveys:resume", args=[_token(request)]),
        )
        return render(request, "surveys/page_missing.html", context, status=404)
    context = _context(
        request,
        invitation=invitation,
        language=language,
        page=page,
        saved=request.GET.get("saved") == "1",
        autosave_url=reverse("surveys:autosave", args=[_token(request), order]),
        change_sequence=block_change_sequence(response=response, block_id=page.block_id),
        about_url=reverse("surveys:about", args=[_token(request)]),
        delphi_round=delphi.round_number if delphi else None,
    )
    return render(request, "surveys/block.html", context)


@questionnaire_view(as_json=True, origin_checked=True)
@require_POST
def autosave(request: HttpRequest, *, invitation: Invitation, language: str, order: int):
    """The page's JavaScript posts the whole block on every change; answers with progress.

    A change sent again (the browser's queue replaying it) or older than the last one
    stored is acknowledged without being stored: ``applied`` is then false.
    """
    try:
        saved = _save_block(request, invitation=invitation, order=order, as_json=True)
    except _Refused as refused:
        return refused.response
    progress = selectors.response_progress(
        response=saved.response, questionnaire=saved.questionnaire
    )
    return JsonResponse(
        {
            "ok": True,
            "applied": saved.applied,
            "message": gettext("Saved"),
            "progress": {
                "answered": progress.answered,
                "total": progress.total,
                "percent": progress.percent,
                "text": progress.text,
            },
        }
    )


@questionnaire_view()
@require_safe
def review(request: HttpRequest, *, invitation: Invitation, language: str) -> HttpResponse:
    """Every block with its answered and missing rows, and the submit button."""
    response = selectors.response_for_invitation(invitation=invitation)
    if response is None:
        return redirect("surveys:landing", _token(request))
    if response.status == Response.Status.SUBMITTED:
        return redirect("surveys:thanks", _token(request))
    questionnaire = _questionnaire(invitation, response)
    page = selectors.review_page(response=response, questionnaire=questionnaire, language=language)
    back_url = _block_url(request, page.last_order) if page.last_order is not None else ""
    context = _context(
        request, invitation=invitation, language=language, page=page, back_url=back_url
    )
    return render(request, "surveys/review.html", context)


@questionnaire_view()
@require_POST
def submit(request: HttpRequest, *, invitation: Invitation, language: str) -> HttpResponse:
    """Submit once; a second submit from another tab or a retry lands on the same thanks."""
    response = selectors.response_for_invitation(invitation=invitation)
    if response is None:
        return redirect("surveys:landing", _token(request))
    delphi = delphi_selectors.delphi_page(invitation=invitation, language=language)
    if delphi is not None and response.status == Response.Status.DRAFT:
        missing = delphi_reasons_missing(response=response, page=delphi)
        if missing:
            back = reverse("surveys:block", args=[_token(request), missing[0]])
            message = gettext(
                "Some answers are outside the range shown and still need a short reason."
            )
            return render(
                request,
                "surveys/bad_request.html",
                {"errors": [message], "back_url": back, "status": 400},
                status=400,
            )
    response_submit(response=response)
    return redirect("surveys:thanks", _token(request))


@questionnaire_view()
@require_safe
def thanks(request: HttpRequest, *, invitation: Invitation, language: str) -> HttpResponse:
    response = selectors.response_for_invitation(invitation=invitation)
    if response is None or response.status != Response.Status.SUBMITTED:
        return redirect("surveys:resume", _token(request))
    return render(
        request, "surveys/thanks.html", _context(request, invitation=invitation, language=language)
    )


@questionnaire_view()
@require_POST
def language_switch(request: HttpRequest, *, invitation: Invitation, language: str) -> HttpResponse:
    """The switcher on every page: keep the choice on the invitation, return to the page."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return _bad_request(request, form.errors.get("language", []), as_json=False)
    try:
        invitation_language_set(invitation=invitation, language=form.cleaned_data["language"])
    except ValidationError as error:
        return _bad_request(request, error.messages, as_json=False)
    landing_url = reverse("surveys:landing", args=[_token(request)])
    target = form.cleaned_data["next"]
    safe = target.startswith(landing_url) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else landing_url)


OFFLINE_ASSETS = ("surveys/questionnaire.css", "surveys/questionnaire.js")


def _offline_language(request: HttpRequest) -> str:
    return language_supported(request.GET.get("lang", ""))


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker of the questionnaire's pages (``/s/sw.js``, scope ``/s/``).

    ``?lang=`` names the language of the offline page it keeps. Its cache name changes with
    the language and the static files' names, so that a new version replaces the old.
    """
    language = _offline_language(request)
    offline_url = f"{reverse('surveys:offline')}?lang={language}"
    assets = [static(path) for path in OFFLINE_ASSETS]
    version = hashlib.sha256("|".join([offline_url, *assets]).encode()).hexdigest()[:12]
    response = render(
        request,
        "surveys/service_worker.js",
        {
            "version": version,
            # Paths of this site only (the language is one of settings.LANGUAGES).
            "offline_url_json": mark_safe(json.dumps(offline_url)),
            "assets_json": mark_safe(json.dumps(assets)),
        },
        content_type="text/javascript; charset=utf-8",
    )
    add_never_cache_headers(response)
    return response


@gzip_page
@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """The page the service worker shows offline: kept in the browser, so nothing personal."""
    with language_override(_offline_language(request)) as language:
        response = render(request, "surveys/offline.html")
        response.headers["Content-Language"] = language
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
