"""The dashboards: the alliance office's and the health bureau's overview (/reporting/), and one
institution's figures over time. Aggregates only: no page here names a patient.

Each page (and its XLSX/CSV export, `?format=xlsx&table=...`) reads a fixed number of queries:
the scope, then the indicator values of the scope, pivoted in reporting/selectors/.
"""

from __future__ import annotations

import rules
from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from alliance import documents
from alliance.choices import Tier
from core.access import RestrictedMixin, profile_of
from core.forms import FilterForm

from .. import exports, selectors
from ..indicators import INDICATORS

ALL = [("", gettext_lazy("All"))]
# Institutions per page of the comparison table: a district has hundreds, which no one reads
# on one screen (and which cost more to render than the rest of the page); exports hold all.
TABLE_ROWS_PER_PAGE = 50


def _year_choices(years) -> list[tuple[int, str]]:
    return [(year, str(year)) for year in sorted(years, reverse=True)]


class YearForm(FilterForm):
    year = forms.TypedChoiceField(
        label=gettext_lazy("Year"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = _year_choices(years)


class DashboardFilterForm(YearForm):
    alliance = forms.TypedChoiceField(
        label=gettext_lazy("Alliance"), coerce=int, required=False, empty_value=None
    )
    tier = forms.ChoiceField(
        label=gettext_lazy("Institution tier"), required=False, choices=ALL + Tier.choices
    )
    district = forms.TypedChoiceField(
        label=gettext_lazy("District"), coerce=int, required=False, empty_value=None
    )
    indicators = forms.MultipleChoiceField(
        label=gettext_lazy("Table columns"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, scope: selectors.Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["alliance"].choices = ALL + [(a.pk, a.name) for a in scope.alliances]
        district = self.fields["district"]
        if scope.district is not None:  # the bureau: its own district only
            district.choices = [(scope.district.pk, scope.district.name)]
            district.initial = scope.district.pk
            district.disabled = True
        else:
            district.choices = ALL + [(d.pk, d.name) for d in scope.districts]
        self.fields["indicators"].choices = [(i.key, i.name) for i in selectors.table_indicators()]


def _export_format(request) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in exports.FORMATS else None


class DashboardAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    def has_permission(self) -> bool:
        return rules.test_rule("reporting.reads_dashboards", self.request.user)


@method_decorator(never_cache, name="dispatch")
class DashboardView(DashboardAccessMixin, TemplateView):
    """The office's alliances or the bureau's district: headline figures against benchmarks,
    the paper's Table 1 for the member institutions, monthly trends and referral flows, and
    (for the office) the shared centers' and referrals' performance."""

    template_name = "reporting/dashboard.html"
    tables = ("comparison", "headline", "monthly", "centers")

    def get(self, request, *args, **kwargs):
        scope = selectors.dashboard_scope(request.user)
        if scope.kind == "institution":  # other staff: their own institution's page
            url = reverse("reporting:institution", args=[scope.institution_id])
            query = request.GET.urlencode()
            return redirect(f"{url}?{query}" if query else url)
        years = selectors.years_with_values(request.user, scope)
        # The latest year whose facts are complete (every member, every month); else the
        # latest the comparison table has figures for; without facts, the latest with any value.
        with_table = [y for y, found in years.items() if found & set(selectors.TABLE_DEFAULT)]
        default_year = max(years.complete or with_table or years, default=timezone.localdate().year)
        data = request.GET.copy()
        data.setdefault("year", str(default_year))
        if not data.getlist("indicators"):
            data.setlist("indicators", selectors.TABLE_DEFAULT)
        form = DashboardFilterForm(data, scope=scope, years=years or [default_year])
        values = form.values()
        year = values.get("year", default_year)
        keys = values.get("indicators") or selectors.TABLE_DEFAULT
        narrowed = scope.narrowed(
            alliance_id=values.get("alliance"),
            tier=values.get("tier"),
            district_id=scope.district.pk if scope.district else values.get("district"),
        )
        show_centers = scope.kind in ("all", "alliance")
        label = self.scope_label(scope, narrowed, values)

        fmt = _export_format(request)
        if fmt:
            return self.export(
                fmt,
                request.GET.get("table", "comparison"),
                narrowed,
                keys,
                year,
                label,
                show_centers,
            )
        if documents.wants_pdf(request):
            return self.pdf(narrowed, keys, year, label)

        figures = selectors.alliance_figures(request.user, narrowed.alliances, year)
        table = selectors.comparison(request.user, narrowed.institutions, keys, year)
        paginator = Paginator(table.rows, TABLE_ROWS_PER_PAGE)
        page = paginator.get_page(request.GET.get("page"))
        context = self.get_context_data(
            form=form,
            scope=scope,
            year=year,
            label=label,
            table=table,
            figures=figures,
            page_obj=page,
            paginator=paginator,
            is_paginated=page.has_other_pages(),
            show_centers=show_centers,
            charts=selectors.alliance_charts(figures, year),
            years_with_columns=sorted(
                (y for y, found in years.items() if found & set(keys)), reverse=True
            ),
            performance=self.performance(figures) if show_centers else [],
        )
        return self.render_to_response(context)

    def pdf(self, narrowed, keys, year, label):
        """The headline figures and the comparison table as an A4 document (no charts)."""
        user = self.request.user
        figures = selectors.alliance_figures(user, narrowed.alliances, year)
        table = selectors.comparison(user, narrowed.institutions, keys, year)
        profile = profile_of(user)
        issuer = profile.institution if profile else {"name": label}
        exports.record_export(self.request, f"dashboard-{year}", "pdf", len(table.rows))
        return documents.pdf_response(
            self.request,
            "documents/dashboard.html",
            {"figures": figures, "table": table, "year": year, "label": label},
            issuer=issuer,
            filename=f"dashboard-{year}.pdf",
        )

    def performance(self, figures) -> list[tuple[str, list]]:
        return [
            (_("Shared centers"), selectors.by_indicator(figures, selectors.CENTER_PERFORMANCE)),
            (_("Referrals"), selectors.by_indicator(figures, selectors.REFERRAL_PERFORMANCE)),
        ]

    def scope_label(self, scope, narrowed, values) -> str:
        if values.get("alliance"):
            parts = [a.name for a in narrowed.alliances]
        elif scope.district is not None:
            parts = [scope.district.name]
        elif scope.kind == "all" and not values.get("district"):
            parts = [_("All alliances")]
        else:
            parts = [a.name for a in narrowed.alliances] or [_("No alliance")]
        if values.get("district") and scope.district is None:
            parts += [d.name for d in scope.districts if d.pk == values["district"]]
        if values.get("tier"):
            parts.append(str(Tier(values["tier"]).label))
        return " / ".join(parts)

    def export(self, fmt, table, narrowed, keys, year, label, show_centers):
        if table not in self.tables or (table == "centers" and not show_centers):
            raise Http404
        name = f"dashboard-{table}-{year}"
        if table == "comparison":
            data = selectors.comparison(self.request.user, narrowed.institutions, keys, year)
            title = f"{label} · {data.years[0]}–{data.years[-1]}"
            return exports.response(
                exports.comparison_table(data, name=name, title=title), fmt, self.request
            )
        figures = selectors.alliance_figures(self.request.user, narrowed.alliances, year)
        title = f"{label} · {year}"
        if table == "headline":
            out = exports.headline_table(figures, name=name, title=title)
        elif table == "monthly":
            out = exports.monthly_table(
                figures, selectors.TRENDS + selectors.FLOWS, year, name=name, title=title
            )
        else:
            out = exports.centers_table(figures, name=name, title=title)
        return exports.response(out, fmt, self.request)


@method_decorator(never_cache, name="dispatch")
class InstitutionDashboardView(RestrictedMixin, TemplateView):
    """One institution's figures over time: every indicator with a value, year by year, and
    the months of the chosen year. Its staff, its alliance's office and its district's bureau
    may open it; anyone else gets a 404."""

    template_name = "reporting/institution.html"
    tables = ("years", "monthly")

    def get(self, request, *args, **kwargs):
        institution = selectors.institution_for_user(request.user, kwargs["pk"])
        history = selectors.institution_history(request.user, institution)
        default_year = history.years[-1] if history.years else timezone.localdate().year
        data = request.GET.copy()
        data.setdefault("year", str(default_year))
        form = YearForm(data, years=history.years or [default_year])
        form.fields["year"].widget.attrs["class"] = "form-select form-select-sm w-auto"
        year = form.values().get("year", default_year)
        selectors.with_months(request.user, history, year)
        charts = selectors.institution_charts(history)

        fmt = _export_format(request)
        if fmt:
            table = request.GET.get("table", "years")
            if table not in self.tables:
                raise Http404
            name = f"institution-{institution.pk}-{table}"
            if table == "years":
                title = institution.name
                if history.years:
                    title += f" · {history.years[0]}–{history.years[-1]}"
                out = exports.institution_years_table(history, name=name, title=title)
            else:
                out = exports.institution_monthly_table(
                    history,
                    year,
                    name=f"{name}-{year}",
                    title=f"{institution.name} · {year}",
                )
            return exports.response(out, fmt, self.request)
        if documents.wants_pdf(request):
            return self.pdf(institution, history, year)

        context = self.get_context_data(
            form=form,
            institution=institution,
            history=history,
            year=year,
            charts=charts,
            back_to_dashboard=rules.test_rule("reporting.reads_alliance_dashboards", request.user),
        )
        return self.render_to_response(context)

    def pdf(self, institution, history, year):
        """The figures by year and the months of the year as an A4 document."""
        profile = profile_of(self.request.user)
        monthly = [(INDICATORS[k], history.month_figures(k)) for k in history.monthly_keys]
        months = [str(m) for m in exports.months_of(year)]
        month_rows = [(m, [figures[i] for _, figures in monthly]) for i, m in enumerate(months)]
        name = f"institution-{institution.pk}-{year}"
        exports.record_export(self.request, name, "pdf", len(history.rows) + len(month_rows))
        return documents.pdf_response(
            self.request,
            "documents/institution.html",
            {
                "institution": institution,
                "history": history,
                "year": year,
                "monthly": monthly,
                "month_rows": month_rows,
            },
            issuer=profile.institution if profile else institution,
            filename=f"{name}.pdf",
        )
