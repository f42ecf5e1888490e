"""API token pages: a user's own tokens (/accounts/tokens/) and the alliance office's machine
tokens and revocations (/alliance/tokens/). The rules are alliance/tokens.py's."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import ListView, TemplateView, View

from core import twofactor
from core.errors import DomainError

from .. import tokens
from ..forms import MachineTokenForm, PersonalTokenForm
from ..models import ApiTokenKind


def _create(form, make):
    """Run `make()` for a valid form; its refusal becomes the form's error. Returns
    (token, key, status)."""
    if not form.is_valid():
        return None, None, 200
    try:
        token, key = make()
    except ValidationError as exc:
        form.add_error(None, exc)
        return None, None, 200
    except DomainError as exc:
        form.add_error(None, exc.message)
        return None, None, exc.status_code
    return token, key, 200


class PersonalTokensView(LoginRequiredMixin, TemplateView):
    """The user's tokens; a new personal access token, shown in clear once (never stored)."""

    template_name = "registration/api_tokens.html"

    def get(self, request, *args, **kwargs):
        return self.render(PersonalTokenForm())

    def post(self, request, *args, **kwargs):
        form = PersonalTokenForm(request.POST)
        token, key, status = _create(
            form,
            lambda: tokens.personal_token_create(
                actor=request.user, name=form.cleaned_data["name"]
            ),
        )
        if token is None:
            return self.render(form, status=status)
        return self.render(PersonalTokenForm(), new_token=token, new_key=key)

    def render(self, form, status: int = 200, **extra):
        context = self.get_context_data(
            form=form,
            tokens=tokens.own_tokens(self.request.user),
            may_create=twofactor.session_verified(self.request.user),
            **tokens.lifetimes(),
            **extra,
        )
        return self.render_to_response(context, status=status)


class PersonalTokenRevokeView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, digest: str):
        token = tokens.own_token(request.user, digest)
        tokens.token_revoke(actor=request.user, token=token)
        messages.success(request, _("The token is revoked: it no longer works."))
        return redirect("api_tokens")


class OfficeTokensView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    """The office's machine tokens (with the form for a new one) and every other live token of
    its alliances' staff, each with its last use and a revoke button."""

    permission_required = tokens.MANAGE_PERMISSION
    template_name = "alliance/api_tokens.html"
    paginate_by = 50
    context_object_name = "other_tokens"

    def get_queryset(self):
        return tokens.office_tokens(self.request.user).exclude(kind=ApiTokenKind.MACHINE)

    def form(self, data=None) -> MachineTokenForm:
        institutions = tokens.machine_token_institutions(self.request.user)
        return MachineTokenForm(data, institutions=institutions)

    def get(self, request, *args, **kwargs):
        return self.render(self.form())

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        token, key, status = _create(
            form,
            lambda: tokens.machine_token_create(
                actor=request.user,
                institution=form.cleaned_data["institution"],
                name=form.cleaned_data["name"],
            ),
        )
        if token is None:
            return self.render(form, status=status)
        return self.render(self.form(), new_token=token, new_key=key)

    def render(self, form, status: int = 200, **extra):
        self.object_list = self.get_queryset()
        machine = tokens.office_tokens(self.request.user).filter(kind=ApiTokenKind.MACHINE)
        context = self.get_context_data(
            form=form, machine_tokens=machine, **tokens.lifetimes(), **extra
        )
        return self.render_to_response(context, status=status)


class OfficeTokenRevokeView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = tokens.MANAGE_PERMISSION
    http_method_names = ["post"]

    def post(self, request, digest: str):
        token = tokens.office_token(request.user, digest)
        tokens.token_revoke(actor=request.user, token=token)
        messages.success(request, _("The token is revoked: it no longer works."))
        return redirect("alliance:api-tokens")
