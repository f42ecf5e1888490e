"""Two-factor sign-in: enrolment, the code after the password, turning it off."""

import base64

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import audit, twofactor
from core.choices import AccessKind

from .. import services
from ..forms import TwoFactorDisableForm, TwoFactorSetupForm, TwoFactorVerifyForm

MAX_CODE_FAILURES = 5  # wrong codes in one session before it is signed out


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


def _qr_svg(text: str) -> str:
    """The otpauth:// address as an SVG QR code in a data: URI (the CSP allows data: images)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


class TwoFactorSetupView(LoginRequiredMixin, TemplateView):
    """Turn two-factor sign-in on: scan the QR code (or type the key), confirm with the current
    password and a first code. With a device already confirmed: its state, and for accounts
    that may go without, the way to turn it off."""

    template_name = "registration/two_factor_setup.html"

    def get(self, request, *args, **kwargs):
        device = twofactor.device_of(request.user)
        if device is not None:
            return self.render_status(device)
        return self.render_form(TwoFactorSetupForm(user=request.user, device=self.pending()))

    def post(self, request, *args, **kwargs):
        if twofactor.device_of(request.user) is not None:
            return redirect("two_factor_setup")
        device = self.pending()
        form = TwoFactorSetupForm(request.POST, user=request.user, device=device)
        if not form.is_valid():
            return self.render_form(form)
        services.two_factor_confirm(actor=request.user, device=device, request=request)
        otp_login(request, device)
        request.session.pop(twofactor.NOT_ENROLLED_KEY, None)
        messages.success(
            request, _("Two-factor sign-in is on: from now on you sign in with a code.")
        )
        return redirect(_next_url(request))

    def pending(self) -> TOTPDevice:
        return services.two_factor_pending_device(actor=self.request.user)

    def render_form(self, form):
        device = form.device
        return self.render_to_response(
            self.get_context_data(
                form=form,
                qr=_qr_svg(device.config_url),
                secret=base64.b32encode(device.bin_key).decode(),
                required=twofactor.required_for(self.request.user),
                next=_next_url(self.request),
            )
        )

    def render_status(self, device):
        return self.render_to_response(
            self.get_context_data(
                device=device,
                required=twofactor.required_for(self.request.user),
                disable_form=TwoFactorDisableForm(user=self.request.user),
            )
        )


class TwoFactorVerifyView(LoginRequiredMixin, TemplateView):
    """The second step of signing in: the code from the authenticator app."""

    template_name = "registration/two_factor_verify.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.device = twofactor.device_of(request.user)
            if self.device is None:
                return redirect(f"{reverse('two_factor_setup')}?{request.GET.urlencode()}")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        form = TwoFactorVerifyForm(device=self.device)
        return self.render_to_response(self.get_context_data(form=form, next=_next_url(request)))

    def post(self, request, *args, **kwargs):
        form = TwoFactorVerifyForm(request.POST, device=self.device)
        if form.is_valid():
            otp_login(request, self.device)
            request.session.pop("_two_factor_failures", None)
            return redirect(_next_url(request))
        failures = request.session.get("_two_factor_failures", 0) + 1
        audit.record(AccessKind.TWO_FACTOR_FAILED, request=request, failures=failures)
        if failures >= MAX_CODE_FAILURES:
            logout(request)  # a new session: the password again, then the code
            messages.error(request, _("Too many wrong codes: sign in again."))
            return redirect("login")
        request.session["_two_factor_failures"] = failures
        return self.render_to_response(self.get_context_data(form=form, next=_next_url(request)))


class TwoFactorDisableView(LoginRequiredMixin, View):
    """Only for accounts that may go without a second factor; asks for the current password."""

    def post(self, request, *args, **kwargs):
        device = twofactor.device_of(request.user)
        if device is None or twofactor.required_for(request.user):
            raise PermissionDenied
        form = TwoFactorDisableForm(request.POST, user=request.user)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("password", [])))
            return redirect("two_factor_setup")
        services.two_factor_disable(actor=request.user, request=request)
        messages.success(request, _("Two-factor sign-in is off."))
        return redirect("two_factor_setup")
