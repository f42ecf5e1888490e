"""What the security tests walk: every operation of the OpenAPI schema, every URL pattern of the
site, and the object behind each path parameter.

Both lists are read from the code (drf-spectacular's generator, Django's resolver), never
written down: a new endpoint or page is walked without anyone adding it here, and fails until
its parameters are mapped (OBJECT_PARAMETERS) and, for pages, it is classified (see
test_bureau_urls.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import rules
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = ("get", "put", "patch", "post", "delete")


# --- the API schema --------------------------------------------------------------------------


def api_schema() -> dict:
    """The schema /api/schema/ serves (the same generator, without a request)."""
    return SchemaGenerator().get_schema(request=None, public=True)


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the schema: /api/v1/referrals/{id}/accept/
    spec: dict

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)

    @property
    def is_list(self) -> bool:
        return self.method == "GET" and not self.path_parameters

    @property
    def is_detail(self) -> bool:
        """The object itself: `{prefix}{id}/`."""
        return bool(re.fullmatch(r"[^{}]*/\{id\}/", self.path))

    @property
    def request_schema(self) -> tuple[str, dict] | None:
        body = self.spec.get("requestBody")
        if not body:
            return None
        media_type, content = next(iter(body["content"].items()))
        return media_type, content.get("schema", {})


def operations(schema: dict) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in HTTP_METHODS
    ]


def required_properties(schema: dict, component: dict) -> list[str]:
    """The required properties of a request body schema (following one $ref)."""
    if "$ref" in component:
        name = component["$ref"].rsplit("/", 1)[-1]
        component = schema["components"]["schemas"][name]
    return list(component.get("required", []))


# --- path prefixes and parameters: which object each names -----------------------------------

# The object behind `{id}` of every path under a prefix (the longest prefix wins). A path with a
# parameter no entry covers fails the tests: add its prefix here, and the object to the world.
RESOURCES = {
    "/api/v1/institutions/": "institution",
    "/api/v1/departments/": "department",
    "/api/v1/alliances/": "alliance",
    "/api/v1/patients/": "patient",
    "/api/v1/referrals/": "referral",
    "/api/v1/follow-ups/": "follow_up",
    "/api/v1/centers/": "center",
    "/api/v1/orders/": "order",
    "/api/v1/facts/jobs/": "job_import",
    "/api/v1/slots/": "slot",
    "/api/v1/sterilization/packages/": "package",
    "/api/v1/sterilization/cycles/": "cycle",
    "/api/v1/sterilization/requests/": "supply_request",
}
# Parameters other than `{id}`, by (path, parameter).
SUBRESOURCES = {
    ("/api/v1/referrals/{id}/attachments/{attachment_id}/", "attachment_id"): "attachment",
}
# Path parameters that name no row, with the value to use and why.
NOT_OBJECTS = {
    ("/api/v1/facts/{kind}/import/", "kind"): (
        "visits",
        "the kind of fact file (visits, stays, beds): the rows are checked in the file",
    ),
}
# Reference data all staff read by design (alliance/querysets.py, RestrictedQuerySet.visible_to):
# another alliance's institutions, departments and alliances are visible, not a leak.
REFERENCE_KINDS = {"institution", "department", "alliance"}


class Unmapped(LookupError):
    pass


def resource_of(path: str) -> str:
    matches = [prefix for prefix in RESOURCES if path.startswith(prefix)]
    if not matches:
        raise Unmapped(
            f"add a mapping for {path}: which object does its path parameter name? "
            "(tests/security/site.py RESOURCES, and an object of that kind in world.py)"
        )
    return RESOURCES[max(matches, key=len)]


def parameter_kinds(op: Operation) -> dict[str, str | None]:
    """Parameter → kind of object (None: not an object, see NOT_OBJECTS)."""
    kinds = {}
    for name in op.path_parameters:
        if (op.path, name) in NOT_OBJECTS:
            kinds[name] = None
        elif name == "id":
            kinds[name] = resource_of(op.path)
        elif (op.path, name) in SUBRESOURCES:
            kinds[name] = SUBRESOURCES[(op.path, name)]
        else:
            raise Unmapped(
                f"add a mapping for {op.path} parameter {{{name}}} "
                "(tests/security/site.py SUBRESOURCES or NOT_OBJECTS)"
            )
    return kinds


def fill(op: Operation, world, side: str) -> str:
    """The operation's path with the side's objects (the first of each kind) substituted."""
    values = {}
    for name, kind in parameter_kinds(op).items():
        values[name] = NOT_OBJECTS[(op.path, name)][0] if kind is None else world.first(side, kind)
    return op.path.format(**values)


def detail_path(op: Operation) -> str:
    """`/api/v1/referrals/{id}/` for any path below it."""
    return op.path[: op.path.index("{id}") + len("{id}/")]


def expected_denial(user, method: str, url: str) -> int:
    """What the API answers a user who may not see the object: 403 when the viewset's
    `action_permissions` refuse the user the action before any row is read, else 404 (an
    invisible row is not in `restrict(user)`; alliance/api/views.py)."""
    func = resolve(url.split("?")[0]).func
    view_class = getattr(func, "cls", None)
    actions = getattr(func, "actions", None) or {}
    action = actions.get(method.lower())
    permission = getattr(view_class, "action_permissions", {}).get(action)
    if permission is not None and not user.has_perm(permission):
        return 403
    # A view refused as a whole by a rule (the cockpit: the bureau and the office only).
    rule = getattr(view_class, "required_rule", None)
    if rule is not None and not rules.test_rule(rule, user):
        return 403
    return 404


def allowed_to(user, method: str, url: str) -> bool:
    return expected_denial(user, method, url) != 403


# --- the site's URL patterns -----------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    route: str  # normalized: "referrals/{pk}/attachments/{attachment_id}/"
    name: str | None  # namespaced URL name
    parameters: tuple[str, ...]

    def url(self, values: dict[str, object]) -> str:
        return "/" + self.route.format(**values)


def _normalize(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)  # regex groups, first
    route = re.sub(r"<drf_format_suffix\w*:(\w+)>", r".{\1}/", route)  # DRF's ".json/"
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)  # path converters
    return route.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")


def pages() -> list[Page]:
    """Every URL pattern of the site, depth first, as the resolver lists them."""
    found = []

    def walk(resolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                route = _normalize(prefix + str(entry.pattern))
                name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
                found.append(Page(route, name, tuple(re.findall(r"\{(\w+)\}", route))))

    walk(get_resolver(), "", None)
    return found


@dataclass(frozen=True)
class Literal:
    value: str
    reason: str


# Page parameters: route → parameter → the kind of object it names, or a literal value (str)
# for one that names no row. API routes are mapped by RESOURCES/SUBRESOURCES above.
PAGE_OBJECTS: dict[str, dict[str, str | Literal]] = {
    # An API token by the hash knox keys it with (never the token itself).
    "accounts/tokens/{digest}/revoke/": {"digest": "api_token"},
    "alliance/tokens/{digest}/revoke/": {"digest": "api_token"},
    "alliance/institutions/{pk}/": {"pk": "institution"},
    "alliance/institutions/{pk}/contacts/": {"pk": "institution"},
    "alliance/patients/{pk}/": {"pk": "patient"},
    "alliance/patients/{pk}/edit/": {"pk": "patient"},
    "referrals/follow-ups/{pk}/done/": {"pk": "follow_up"},
    "referrals/{pk}/": {"pk": "referral"},
    "referrals/{pk}/slip/": {"pk": "referral"},
    "referrals/{pk}/attachments/": {"pk": "referral"},
    "referrals/{pk}/attachments/{attachment_id}/": {
        "pk": "referral",
        "attachment_id": "attachment",
    },
    "referrals/{pk}/{action}/": {
        "pk": "referral",
        "action": Literal("accept", "a step of the referral (services.TRANSITIONS)"),
    },
    "centers/orders/{pk}/": {"pk": "order"},
    "centers/orders/{pk}/report/": {"pk": "order"},
    "centers/orders/{pk}/{action}/": {
        "pk": "order",
        "action": Literal("receive", "a step of the order (services.TRANSITIONS)"),
    },
    "centers/sterilization/packages/{pk}/": {"pk": "package"},
    "centers/sterilization/cycles/{pk}/": {"pk": "cycle"},
    "centers/sterilization/requests/{pk}/": {"pk": "supply_request"},
    "reporting/institutions/{pk}/": {"pk": "institution"},
    "reporting/recompute/{pk}/": {"pk": "job_recompute"},
    "reporting/recompute/{pk}/rerun/": {"pk": "job_recompute"},
    "reporting/imports/{pk}/": {"pk": "job_import"},
    "reporting/imports/{pk}/confirm/": {"pk": "job_import"},
    "reporting/imports/{pk}/rerun/": {"pk": "job_import"},
    "reporting/imports/template/{kind}.csv": {
        "kind": Literal("visits", "the kind of fact file: an empty template"),
    },
}
API_LITERALS = {
    "format": Literal("json", "DRF's format suffix"),
    "kind": Literal("visits", "the kind of fact file (visits, stays, beds)"),
}


def page_kinds(page: Page) -> dict[str, str | Literal]:
    """Parameter → kind of object (or Literal) for a page; Unmapped when nobody said."""
    if page.route.startswith("api/"):
        kinds: dict[str, str | Literal] = {}
        for name in page.parameters:
            if name in API_LITERALS:
                kinds[name] = API_LITERALS[name]
            elif name == "pk":
                kinds[name] = resource_of("/" + page.route)
            elif name == "attachment_id":
                kinds[name] = "attachment"
            else:
                raise Unmapped(f"add a mapping for {page.route} parameter {{{name}}} (site.py)")
        return kinds
    if page.parameters and page.route not in PAGE_OBJECTS:
        raise Unmapped(
            f"add a mapping for {page.route}: which object does each of {list(page.parameters)} "
            "name? (tests/security/site.py PAGE_OBJECTS)"
        )
    kinds = PAGE_OBJECTS.get(page.route, {})
    missing = set(page.parameters) - set(kinds)
    if missing:
        raise Unmapped(f"add a mapping for {page.route} parameters {sorted(missing)}")
    return kinds


def page_url(page: Page, world, side: str) -> str:
    values = {
        name: kind.value if isinstance(kind, Literal) else world.first(side, kind)
        for name, kind in page_kinds(page).items()
    }
    return page.url(values)


def object_kind(page: Page) -> str | None:
    """The kind of the main object a page shows (its `pk`), if any."""
    kind = page_kinds(page).get("pk")
    return kind if isinstance(kind, str) else None
