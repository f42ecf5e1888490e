from django.utils.functional import SimpleLazyObject

from core.access import profile_of


def staff_profile(request) -> dict:
    """The signed-in user's staff profile and unread inbox count for the page header."""
    user = getattr(request, "user", None)

    def unread() -> int:
        if user is None or not user.is_authenticated:
            return 0
        return user.notifications.filter(read_at__isnull=True).count()

    return {"staff_profile": profile_of(user), "unread_notifications": SimpleLazyObject(unread)}
