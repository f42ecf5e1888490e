"""Documents a hospital files: a page's content rendered to an A4 PDF by WeasyPrint.

Every document extends templates/documents/base.html: the issuing institution's name, address
and phone as letterhead on every page, the time of printing and "page x of y" at the foot, and
the signature and seal lines the document names. The CJK fonts are Debian's `fonts-noto-cjk`
(.ci/run installs them). WeasyPrint fetches nothing: a document is self-contained, so a
template can never make the server request a URL.

A view offers its printable page as a PDF with `?format=pdf`, after the same lookup (and the
same 404) as the page itself.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from core import audit
from core.choices import AccessKind

PDF_TYPE = "application/pdf"


def wants_pdf(request: HttpRequest) -> bool:
    return request.GET.get("format") == "pdf"


def _page_counter() -> str:
    """The CSS `content` of the page numbers, in the user's language."""
    text = _("Page %(page)s of %(pages)s") % {"page": "\x00", "pages": "\x01"}
    text = text.replace('"', "").replace("\\", "")
    return mark_safe(  # noqa: S308 - no user input: a translation and two CSS counters
        '"' + text.replace("\x00", '" counter(page) "').replace("\x01", '" counter(pages) "') + '"'
    )


def render_pdf(request: HttpRequest, template_name: str, context: dict, *, issuer) -> bytes:
    # Imported on first use: WeasyPrint loads pango as it is imported.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class NoFetch(URLFetcher):
        """Refuses every URL: WeasyPrint leaves the resource out and draws the rest."""

        def fetch(self, url, headers=None):
            raise ValueError(f"documents fetch nothing ({url[:60]})")

    printed_at = timezone.localtime()
    html = render_to_string(
        template_name,
        {**context, "issuer": issuer, "printed_at": printed_at, "page_counter": _page_counter()},
        request=request,
    )
    return HTML(string=html, url_fetcher=NoFetch()).write_pdf()


def pdf_response(
    request: HttpRequest, template_name: str, context: dict, *, issuer, filename: str
) -> HttpResponse:
    """The document as a PDF the browser shows (and can save under `filename`). When it shows
    patient data (noted by the page's lookup), its access-log row says it was printed."""
    audit.annotate(kind=AccessKind.DOCUMENT, format="pdf", document=filename)
    response = HttpResponse(
        render_pdf(request, template_name, context, issuer=issuer), content_type=PDF_TYPE
    )
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
