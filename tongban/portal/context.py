from __future__ import annotations

ELDER_COOKIE = "tongban_elder"


def elder_mode_on(request) -> bool:
    """长者版 persists in a cookie for everyone, and on the account for people who log in."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.elder_mode:
        return True
    return request.COOKIES.get(ELDER_COOKIE) == "1"


def portal_context(request) -> dict:
    return {"elder_mode": elder_mode_on(request), "site_name": "一网通办（示例城市）"}
