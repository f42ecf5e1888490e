"""The REST framework's and the API schema's settings (constants), imported by settings.py."""

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.json_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Medical Alliance Platform API",
    "DESCRIPTION": "Regional medical alliance (医联体): institutions, referrals, shared centers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "sharedcenters.choices.OrderStatus",
        "OrderActionEnum": "sharedcenters.choices.OrderAction",
        "RejectionReasonEnum": "sharedcenters.choices.RejectionReason",
        "PackageStatusEnum": "sharedcenters.choices.PackageStatus",
        "CycleStatusEnum": "sharedcenters.choices.CycleStatus",
        "IndicatorResultEnum": "sharedcenters.choices.IndicatorResult",
        "SupplyRequestStatusEnum": "sharedcenters.choices.SupplyRequestStatus",
        "ReferralStatusEnum": "referrals.choices.Status",
        "InstitutionKindEnum": "alliance.choices.InstitutionKind",
        "FollowUpKindEnum": "referrals.choices.FollowUpKind",
    },
}
