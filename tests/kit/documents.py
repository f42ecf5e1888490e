"""Reading back the PDF documents the pages offer (`?format=pdf`): pages and text, by pypdf."""

import io

from pypdf import PdfReader

A4_POINTS = (595, 842)  # 210 x 297 mm


def read_pdf(response) -> tuple[int, str]:
    """The number of pages and the text of a PDF response, after checking it is an A4 PDF."""
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    content = response.content
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    for page in reader.pages:
        size = (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
        assert size in (A4_POINTS, A4_POINTS[::-1])
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), text.replace(" ", "")
