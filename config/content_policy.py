"""The Content Security Policy the platform sends (django-csp 4), imported by settings.py."""

from csp.constants import NONCE, NONE, SELF

# Content Security Policy (django-csp 4): no inline script or style, no eval. The few inline
# scripts left carry the per-request nonce (`request.csp_nonce`); data for scripts goes in
# `json_script` blocks. Style attributes are not allowed: templates use classes (site.css);
# ECharts and Tabler set element styles from JavaScript (CSSOM), which the policy permits.
# The API documentation pages (drf-spectacular's Swagger UI and Redoc) relax style-src only:
# config/urls.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
