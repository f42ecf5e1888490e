from django.urls import path

from . import views

app_name = "sharedcenters"

urlpatterns = [
    path("", views.CenterListView.as_view(), name="center-list"),
    path("orders/", views.OrderListView.as_view(), name="order-list"),
    path("orders/new/", views.OrderCreateView.as_view(), name="order-create"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:pk>/report/", views.OrderReportView.as_view(), name="order-report"),
    path("orders/<int:pk>/<slug:action>/", views.OrderActionView.as_view(), name="order-action"),
    path("worklist/", views.WorklistView.as_view(), name="worklist"),
    path("slots/", views.SlotBoardView.as_view(), name="slots"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("sterilization/", views.PackageListView.as_view(), name="packages"),
    path(
        "sterilization/packages/<int:pk>/",
        views.PackageDetailView.as_view(),
        name="package-detail",
    ),
    path("sterilization/cycles/", views.CycleListView.as_view(), name="cycle-list"),
    path("sterilization/cycles/<int:pk>/", views.CycleDetailView.as_view(), name="cycle-detail"),
    path(
        "sterilization/requests/", views.SupplyRequestListView.as_view(), name="supply-request-list"
    ),
    path(
        "sterilization/requests/new/",
        views.SupplyRequestCreateView.as_view(),
        name="supply-request-create",
    ),
    path(
        "sterilization/requests/<int:pk>/",
        views.SupplyRequestDetailView.as_view(),
        name="supply-request-detail",
    ),
]
