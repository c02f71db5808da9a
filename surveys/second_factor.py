"""A second factor (TOTP, django-otp) for the users who can see experts' identities.

Superusers and users with ``surveys.view_expert_identity`` sign in with their password, then
with a six-digit code from an authenticator app (``/admin/second-factor/``) before any other
page of the site answers them: ``SecondFactorMiddleware`` sends them there until
``request.user.is_verified()`` (django-otp's ``OTPMiddleware`` keeps the verified device in
the session). Everyone else (researchers, panel admins without the identity permission) is
not asked. API tokens are not affected: the API never shows an identity.

A device is enrolled with ``manage.py totp_enrol <username>`` (prints the ``otpauth://`` URI
to scan) or by a superuser in the admin (*TOTP devices*). ``ADMIN_REQUIRE_TOTP`` may be
turned off only with DEBUG on, for the local demo (``bin/run``); the settings refuse it
otherwise.

Every session ends ``SESSION_COOKIE_AGE`` after its sign-in (8 hours): the expiry is set
once, as a date, when the user signs in, so that later requests never extend it.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login

IDENTITY_PERMISSION = "surveys.view_expert_identity"


def identity_access(user) -> bool:
    """True for the users who can see experts' names and e-mails."""
    return user.is_active and (user.is_superuser or user.has_perm(IDENTITY_PERMISSION))


def second_factor_required(request: HttpRequest) -> bool:
    user = request.user
    return (
        settings.ADMIN_REQUIRE_TOTP
        and user.is_authenticated
        and identity_access(user)
        and not user.is_verified()
    )


class SecondFactorMiddleware:
    """Send a signed-in identity user without a verified device to the second-factor page.

    Placed after django-otp's ``OTPMiddleware``. Only signing in and out, the second-factor
    page itself, the language switch and static files stay open to them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self._open_paths()) and second_factor_required(request):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('second-factor')}?{query}")
        return self.get_response(request)

    @staticmethod
    def _open_paths() -> tuple[str, ...]:
        return (
            reverse("second-factor"),
            reverse("admin:login"),
            reverse("admin:logout"),
            "/i18n/",
            "/" + settings.STATIC_URL.lstrip("/"),
        )


class SecondFactorForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.device = None

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip().replace(" ", "")
        self.device = match_token(self.user, token)
        if self.device is None:
            raise forms.ValidationError(
                gettext("This code is not valid. Wait for the next one and try again."),
                code="invalid_token",
            )
        return token


@login_required(login_url="admin:login")
def second_factor(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a TOTP code of one of the user's devices."""
    target = request.POST.get("next") or request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    form = SecondFactorForm(request.user, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        otp_login(request, form.device)
        return redirect(target)
    context = {
        **admin.site.each_context(request),
        "has_permission": False,
        "title": gettext("Second factor"),
        "form": form,
        "next": target,
        "enrolled": any(devices_for_user(request.user)),
    }
    return render(request, "admin/second_factor.html", context)


def session_expiry_fix(sender, request, user, **kwargs) -> None:
    """On sign-in, end the session at a fixed time ``SESSION_COOKIE_AGE`` from now.

    Connected to ``user_logged_in``; API token logins (no session sign-in) are left alone.
    """
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:
        session.set_expiry(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))
