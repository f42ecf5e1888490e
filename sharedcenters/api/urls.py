from rest_framework.routers import SimpleRouter

from .views import (
    ExamOrderViewSet,
    ImagingSlotViewSet,
    PackageViewSet,
    SharedCenterViewSet,
    SterilizationCycleViewSet,
)

router = SimpleRouter()
router.register("centers", SharedCenterViewSet)
router.register("orders", ExamOrderViewSet)
router.register("slots", ImagingSlotViewSet)
router.register("sterilization/packages", PackageViewSet)
router.register("sterilization/cycles", SterilizationCycleViewSet)

urlpatterns = router.urls
