import functools

from django.utils.functional import SimpleLazyObject

from core.access import profile_of

BADGE_CAP = 99  # the bell shows "99+" above this; its label says the real count


def staff_profile(request) -> dict:
    """The signed-in user's staff profile and unread inbox count for the page header: every
    unread message of the user, one COUNT query, made only when a page shows the bell."""
    user = getattr(request, "user", None)

    @functools.cache
    def unread() -> int:
        if user is None or not user.is_authenticated:
            return 0
        return user.notifications.filter(read_at__isnull=True).count()

    def badge() -> str:
        count = unread()
        return f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)

    return {
        "staff_profile": profile_of(user),
        "unread_notifications": SimpleLazyObject(unread),
        "unread_notifications_badge": SimpleLazyObject(badge),
    }
