"""Drive users, created before anything is done for them (issue 19): Plugsurfing refuses key
activation and session start for a user it does not know, and our users exist in the app long
before their first key or session.

`DriveUsers.ensure(user_id)` is the `ensure_user` the Drive adapters of keys and sessions call
first. A user is created once per process: `POST /v1/users` (seed 000) answers 201, and 409 (the
user exists, created by us before or by someone else) counts as done too, so the partner's answer
is what makes it idempotent and the in-process memory only saves the call. Why no marker item in
a table: a lost marker costs one harmless POST, a table would cost a write per user and IAM on
three functions (docs/charging-keys.md, "Drive users").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from backbone.observability import logger
from backbone.partners.errors import Conflict
from backbone.partners.plugsurfing import PlugsurfingClient

EnsureUser = Callable[[str], None]
"""Make sure Plugsurfing knows the Drive user; raises the partner errors of a failed call."""

REMEMBERED_USERS = 10_000
"""Users remembered per process (a few MB at most); one forgotten costs one repeated POST."""


class DriveUsers:
    def __init__(self, client: PlugsurfingClient, remembered: int = REMEMBERED_USERS) -> None:
        self.client = client
        self.remembered = remembered
        self._known: OrderedDict[str, None] = OrderedDict()

    def ensure(self, user_id: str) -> None:
        if user_id in self._known:
            self._known.move_to_end(user_id)
            return
        try:
            self.client.create_user(user_id)
            logger.info("drive user created")
        except Conflict:
            pass  # Plugsurfing knows the user already: what we wanted
        self._known[user_id] = None
        while len(self._known) > self.remembered:
            self._known.popitem(last=False)
