from rest_framework.routers import SimpleRouter

from .views import FollowUpTaskViewSet, ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet)
router.register("follow-ups", FollowUpTaskViewSet)

urlpatterns = router.urls
