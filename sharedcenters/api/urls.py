from rest_framework.routers import SimpleRouter

from .views import (
    ExamOrderViewSet,
    ImagingSlotViewSet,
    PackageViewSet,
    SharedCenterViewSet,
    SterilizationCycleViewSet,
    SupplyRequestViewSet,
)

router = SimpleRouter()
router.register("centers", SharedCenterViewSet)
router.register("orders", ExamOrderViewSet)
router.register("slots", ImagingSlotViewSet)
router.register("sterilization/packages", PackageViewSet)
router.register("sterilization/cycles", SterilizationCycleViewSet)
router.register("sterilization/requests", SupplyRequestViewSet)

urlpatterns = router.urls
