"""Who is calling a service: a signed-in user's session, or the command line (`SYSTEM`).

Every service method that acts for someone takes a `Principal`; `require_admin` is the one
check every admin operation makes, whatever route or command called it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatd.errors import Forbidden
from chatd.models import User


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and the session their token belongs to.

    The command line acts as `SYSTEM`, an explicit principal with every admin right and no
    account behind it, so that no service ever has to read "no principal" as "allowed".
    """

    user: User
    session_id: str
    system: bool = False

    @property
    def is_admin(self) -> bool:
        return self.system or self.user.is_admin

    @property
    def actor_id(self) -> str | None:
        """The user to record as having done something; None for the command line."""
        return None if self.system else self.user.id


# The command line (`chatd user ...`, `chatd invite create`): whoever may run it on the
# server's data directory is its operator. Its user is a placeholder never stored anywhere.
SYSTEM = Principal(User("", "(command line)", "command line", "admin", True, 0), "", system=True)


def require_admin(principal: Principal) -> None:
    """Every admin operation checks here, in the service, whatever route or command called
    it; the command line passes `SYSTEM`, and no principal at all is refused."""
    if not isinstance(principal, Principal) or not principal.is_admin:
        raise Forbidden("only an admin may do that")
