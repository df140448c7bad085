"""身份核验等级 in templates: what an item needs, in words, and whether this account has it."""

from __future__ import annotations

from django import template

from tongban.identity.selectors import assurance_label, assurance_required_level

register = template.Library()


@register.filter
def assurance_name_label(level_name: str) -> str:
    """ "real_name" → 已实名核验."""
    return assurance_label(assurance_required_level(level_name)) if level_name else ""


@register.filter
def assurance_met(user, level_name: str) -> bool:
    """Whether USER's account reaches the level an item names (anonymous: no)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return int(user.assurance_level or 0) >= assurance_required_level(level_name)


@register.filter
def assurance_user_label(user) -> str:
    return assurance_label(int(getattr(user, "assurance_level", 0) or 0))
