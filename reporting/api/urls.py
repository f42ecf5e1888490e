from django.urls import path

from . import cockpit, indicators, views

urlpatterns = [
    path("cockpit/", cockpit.CockpitView.as_view(), name="cockpit"),
    path("facts/<str:kind>/import/", views.FactImportView.as_view(), name="facts-import"),
    path("facts/jobs/<int:pk>/", views.FactImportJobView.as_view(), name="facts-import-job"),
    path(
        "facts/jobs/<int:pk>/rerun/",
        views.FactImportJobRerunView.as_view(),
        name="facts-import-job-rerun",
    ),
    path("indicators/", indicators.IndicatorValueList.as_view(), name="indicator-list"),
    path(
        "indicators/definitions/",
        indicators.IndicatorDefinitions.as_view(),
        name="indicator-definitions",
    ),
]
