"""Who may see and change a conversation: one place for the contract's permission rules.

These run inside writer operations and reads alike, so a check and the change it guards
happen in the same transaction.
"""

from __future__ import annotations

from chatd.errors import Forbidden, NotFound
from chatd.models import User
from chatd.store.conversations import Access


def visible(access: Access | None, user: User) -> Access:
    """The conversation exists for this caller: members see it, and anyone sees a channel."""
    if access is None or (not access.is_member and access.kind != "channel"):
        raise NotFound("no such conversation")
    return access


def member(access: Access | None, user: User) -> Access:
    """Messages need membership: 403 for a channel not joined, 404 for anything else hidden."""
    access = visible(access, user)
    if not access.is_member:
        raise Forbidden("join the channel first")
    return access


def is_owner(access: Access, user: User) -> bool:
    """The creator, or an admin acting as owner of a conversation they can see."""
    if access.kind == "direct":
        return False
    return access.created_by == user.id or user.is_admin
