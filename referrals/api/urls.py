from rest_framework.routers import SimpleRouter

from .views import ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet)

urlpatterns = router.urls
