"""The simulator without a socket: state, faults, request log, and the Python control API.

`PlugsurfingSimulator` (server.py) adds the HTTP server; the admin routes (`/_sim/...`) call the
same methods as in-process tests, so both paths validate input the same way.
"""

from __future__ import annotations

from typing import Any

from simulator.clock import Clock
from simulator.faults import FaultBook
from simulator.locations import LocationBook, LocationSeedIn
from simulator.models import (
    ClockAdvanceIn,
    ConfigIn,
    DriveOrderSeedIn,
    EmpKeySeedIn,
    EmpOrderSeedIn,
    FaultIn,
    UserSeedIn,
)
from simulator.oioi import OioiHandler
from simulator.requestlog import RequestLog
from simulator.state import SimState
from simulator.variants import VariantControls

DEFAULT_API_KEY = "sim-api-key"
DEFAULT_OIOI_KEY = "sim-oioi-key"


class SimulatorCore(VariantControls):
    """Owns everything the routes need. All methods are thread-safe."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        oioi_key: str = DEFAULT_OIOI_KEY,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        self.api_key = api_key
        self.oioi_key = oioi_key
        self.state = SimState(clock=clock, seed=seed)
        self.faults = FaultBook()
        self.request_log = RequestLog()
        self.oioi = OioiHandler(self.state)
        self.locations = LocationBook()

    # --- time ----------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.state.clock = clock

    def advance_clock(self, seconds: float) -> str:
        """Move simulated time forward; the clock must have `advance` (both built-in clocks do)."""
        seconds = ClockAdvanceIn(seconds=seconds).seconds
        advance = getattr(self.state.clock, "advance", None)
        if advance is None:
            raise TypeError(f"{type(self.state.clock).__name__} cannot be advanced")
        advance(seconds)
        return self.now()

    def now(self) -> str:
        return self.state.now().isoformat()

    # --- setup -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Fresh partner: no data, no faults, empty request log, default config."""
        self.state.reset()
        self.faults.clear()
        self.request_log.clear()
        self.oioi.answers.reset()
        self.locations.reset()

    def configure(self, **fields: Any) -> dict[str, Any]:
        """E.g. `configure(order_throttle_seconds=1, session={"start_delay": 0})`."""
        return self.state.configure(ConfigIn(**fields)).model_dump(mode="json")

    def add_user(self, user_id: str, email: str | None = None) -> None:
        """A Drive user (with its virtual key), as if created through `POST /v1/users`."""
        seed = UserSeedIn(id=user_id, email=email)
        self.state.create_user(seed.id, seed.email)

    def add_emp_key(self, **fields: Any) -> dict[str, Any]:
        """An EMP charging key created out of band (as if by another system)."""
        return self.state.create_emp_key(EmpKeySeedIn(**fields))

    def add_order(self, **fields: Any) -> dict[str, Any]:
        """An EMP order, visible now or later (`visible_after` seconds / `visible_at`)."""
        return self.state.add_emp_order(EmpOrderSeedIn(**fields))

    def schedule_order(self, after_seconds: float, **fields: Any) -> dict[str, Any]:
        return self.add_order(visible_after=after_seconds, **fields)

    def add_drive_order(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """A Drive order in any state, e.g. `state="ORDER_FREE_OF_CHARGE", hasReceipt=True`."""
        return self.state.add_drive_order(user_id, DriveOrderSeedIn(**fields))

    def add_location(self, **fields: Any) -> dict[str, Any]:
        """A charging location for geosearch (`LocationSeedIn`); replaces one with the same id."""
        return self.locations.add(LocationSeedIn(**fields))

    def script_connector(self, connector_id: str | None = None, **script: Any) -> dict[str, Any]:
        """Script sessions started on `connector_id` (None: the global default script)."""
        return self.state.set_connector_script(connector_id, script).model_dump()

    def script_session(self, session_id: str, **script: Any) -> dict[str, Any]:
        return self.state.set_session_script(session_id, script)

    def add_fault(self, **fields: Any) -> dict[str, Any]:
        """E.g. `add_fault(kind="status", status=503, path="/drive/emp/*", count=2, retry_after=1)`."""
        fault = self.faults.add(FaultIn(**fields))
        return {"id": fault.id, "kind": fault.kind, "path": fault.path, "remaining": fault.remaining}

    def clear_faults(self) -> None:
        self.faults.clear()

    # --- inspection --------------------------------------------------------------------------

    def requests(self, method: str | None = None, path_prefix: str | None = None) -> list[dict[str, Any]]:
        return self.request_log.entries(method, path_prefix)

    def clear_requests(self) -> None:
        self.request_log.clear()

    def whitelists(self) -> dict[str, Any]:
        return self.state.whitelists()

    def whitelist(self, partner_identifier: str) -> list[str] | None:
        latest: dict[str, list[str]] = self.state.whitelists()["latest"]
        return latest.get(partner_identifier)

    def assign_count(self, order_id: str) -> int:
        return self.state.assign_count(order_id)

    def snapshot(self) -> dict[str, Any]:
        return self.state.snapshot() | {"faults": self.faults.armed(), "locations": self.locations.all()}
