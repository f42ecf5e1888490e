"""alliance.documents: a document never makes the server fetch a URL (no SSRF through a
template or a value in it), and it is still drawn without what it refers to."""

import http.server
import threading

from django.test import RequestFactory

from alliance import documents


def test_a_document_fetches_no_url_it_names(monkeypatch):
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    html = (
        f'<html><head><link rel="stylesheet" href="{url}/style.css"></head><body>'
        f'<img src="{url}/logo.png"><p style="background: url({url}/bg.png)">临港</p></body></html>'
    )
    monkeypatch.setattr(documents, "render_to_string", lambda *args, **kwargs: html)
    try:
        pdf = documents.render_pdf(
            RequestFactory().get("/"), "unused.html", {}, issuer={"name": "临港院区"}
        )
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF-")
    assert hits == []
