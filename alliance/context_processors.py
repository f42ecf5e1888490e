from .querysets import profile_of


def staff_profile(request) -> dict:
    """The signed-in user's staff profile (institution, role) for the page header."""
    return {"staff_profile": profile_of(getattr(request, "user", None))}
