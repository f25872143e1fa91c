"""The OIOI self-conformance cases: what a partner sends an EMP's OIOI endpoint, and what the spec
says the endpoint must answer. Data, not code paths: each case names its spec reference, the
request and the accepted HTTP statuses and result codes.

Black box: nothing here imports the product (`backbone`). The expectations come from the partner
documents (../shared/seeds 002 "OIOI Documentation" 4.16.3 and 004 "Sending a Message via OIOI"),
never from how our receiver happens to answer. Where the spec leaves a choice (which 4xx for an
unknown key, for instance) a case accepts every answer the spec allows.

What a run writes on the endpoint (all identifiers carry the run id `conformance-<time>-<hex>`):
- CDRs (`session-post`) with session ids `conformance-...`, 0 kWh and 0.00 EUR, for the driver
  `ZZ-CNF-000000-0` (ZZ: an ISO 3166 code reserved for private use, no real country);
- stations `conformance-...` with connectors `ZZ*CNF*E...`, each soft-deleted (`deleted: true`)
  again by the run itself, and their connector statuses.
Nothing else: refused requests must not write anything, which is what they test.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SPEC_MESSAGE = "004 Sending a Message via OIOI"
SPEC_CODES = "004 OIOI Response Codes"
SPEC_TEST_UIDS = "002 3.2 UIDs to test RFID"

CONFORMANCE_PREFIX = "conformance-"
TEST_DRIVER = "ZZ-CNF-000000-0"
"""An EVCO ID of the glossary's shape in the private-use country ZZ: no real driver."""

ACTIVE_UID = "04523022AA4881"
LOCKED_UID = "0477BD22AA4880"
UNKNOWN_UID = "0477BD22AA4AAA"
"""The staging test UIDs of the OIOI document (002, 3.2): active, inactive, does not exist."""

ERROR_STATUSES = frozenset({400, 401, 403, 404})
"""A refusal: "the HTTP response code will not be 200" (004, Response), one of the spec's 4xx."""


@dataclass(frozen=True)
class RunContext:
    """What a run knows: the key, the caller's partner identifier, the UIDs provisioned on the
    endpoint, and the run id every written identifier carries."""

    key: str
    partner_identifier: str | None = None
    active_uid: str | None = ACTIVE_UID
    locked_uid: str | None = LOCKED_UID
    run_id: str = field(default_factory=lambda: new_run_id(None))
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def station_id(self) -> str:
        return f"{self.run_id}-station"

    @property
    def other_station_id(self) -> str:
        return f"{self.run_id}-elsewhere"

    @property
    def example_station_id(self) -> str:
        return f"{self.run_id}-example"

    @property
    def evse_ids(self) -> tuple[str, str]:
        tag = self.run_id.rsplit("-", 1)[-1].upper()
        return f"ZZ*CNF*EC{tag}*1", f"ZZ*CNF*EC{tag}*2"

    @property
    def spare_evse_ids(self) -> tuple[str, str]:
        tag = self.run_id.rsplit("-", 1)[-1].upper()
        return f"ZZ*CNF*ES{tag}*1", f"ZZ*CNF*ES{tag}*2"

    @property
    def unknown_evse_id(self) -> str:
        tag = self.run_id.rsplit("-", 1)[-1].upper()
        return f"ZZ*CNF*EU{tag}*9"

    @property
    def session_id(self) -> str:
        return f"{self.run_id}-session"


def new_run_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    return f"{CONFORMANCE_PREFIX}{moment}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Probe:
    """One HTTP request: the body's bytes and the Authorization header (None: not sent)."""

    body: bytes
    authorization: str | None


@dataclass(frozen=True)
class Case:
    name: str
    spec: str
    """Where the expectation comes from (seed file and section)."""
    build: Callable[[RunContext], Probe]
    statuses: frozenset[int]
    codes: frozenset[int]
    needs: tuple[str, ...] = ()
    """RunContext fields without which the case is skipped (`partner_identifier`, ...)."""
    general_code_ok: bool = True
    """004: "A more general code must always be accepted in parallel to the more specific code"
    (100 for any 1xx, 200 for any 2xx...)."""

    def missing(self, context: RunContext) -> list[str]:
        return [name for name in self.needs if not getattr(context, name)]

    @property
    def expected(self) -> str:
        statuses = "/".join(str(status) for status in sorted(self.statuses))
        codes = "/".join(str(code) for code in sorted(self.codes))
        return f"{statuses} {codes}"


def general_code(code: int) -> int:
    """The family's general code: 0 for 0xx, 100 for 1xx, 200 for 2xx... (004)."""
    return code // 100 * 100


# --- request builders ---------------------------------------------------------------------------


def _message(name: str, payload: Any) -> Callable[[RunContext], Probe]:
    return _with_key(lambda context: {name: payload(context) if callable(payload) else payload})


def _with_key(body: Callable[[RunContext], Mapping[str, Any]]) -> Callable[[RunContext], Probe]:
    return lambda context: Probe(json.dumps(body(context)).encode(), f"key={context.key}")


def _raw(body: bytes, authorization: Callable[[RunContext], str | None]) -> Callable[[RunContext], Probe]:
    return lambda context: Probe(body, authorization(context))


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _session_post(
    stop: bool = True, partner_identifier: str | None = None, drop: str | None = None
) -> Callable[[RunContext], dict[str, Any]]:
    """The spec's session-post example (002, 22.3) with the run's identifiers, 0 kWh and 0 EUR."""

    def payload(context: RunContext) -> dict[str, Any]:
        interval = {"start": _time(context.now - timedelta(hours=1))}
        if stop:
            interval["stop"] = _time(context.now - timedelta(minutes=1))
        message: dict[str, Any] = {
            "user": {"identifier": TEST_DRIVER, "identifier-type": "evco-id"},
            "session-id": context.session_id,
            "connector-id": context.evse_ids[0],
            "session-interval": interval,
            "energy-consumed": 0.0,
            "calculated-cost": {"amount": 0.0, "currency": "EUR"},
            "partner-identifier": partner_identifier or context.partner_identifier,
        }
        if drop:
            del message[drop]
        return message

    return payload


def _station(
    station_id: Callable[[RunContext], str],
    *,
    deleted: bool,
    latitude: float = 52.5167,
    partner_identifier: str | None = None,
    drop: str | None = None,
    spare_connectors: bool = False,
) -> Callable[[RunContext], dict[str, Any]]:
    """The spec's station-post example (002, 28.3) with the run's ids and a test CPO
    (`spare_connectors`: EVSE IDs no other case uses, so only the tested rule can refuse it)."""

    def payload(context: RunContext) -> dict[str, Any]:
        first, second = context.spare_evse_ids if spare_connectors else context.evse_ids
        station: dict[str, Any] = {
            "id": station_id(context),
            "name": "OIOI conformance test station (not a real station)",
            "description": f"Written by a conformance run ({context.run_id}); deleted by the same run.",
            "latitude": latitude,
            "longitude": 13.3833,
            "address": {
                "street": "Teststrasse",
                "street-number": "1",
                "city": "Berlin",
                "zip": "10243",
                "country": "DE",
            },
            "contact": {"phone": "+49 30 0000000"},
            "cpo-id": "ZZ*CNF",
            "is-open-24": True,
            "connectors": [
                {"id": first, "name": "Type2", "speed": 11.0},
                {"id": second, "name": "Schuko", "speed": 3.7},
            ],
            "deleted": deleted,
        }
        if drop:
            del station[drop]
        return {"station": station, "partner-identifier": partner_identifier or context.partner_identifier}

    return payload


def _status(
    evse: Callable[[RunContext], str], status: str = "Available"
) -> Callable[[RunContext], dict[str, Any]]:
    return lambda context: {
        "connector-id": evse(context),
        "partner-identifier": context.partner_identifier,
        "status": status,
    }


def _key(context: RunContext) -> str:
    return f"key={context.key}"


def _foreign_identifier(context: RunContext) -> str:
    return f"{context.run_id}-not-your-partner-identifier"


# --- the cases, in the order they run (station cases build on each other) -----------------------

_ok = frozenset({200})
_success = frozenset({0})
_bad_request = frozenset({400})
_invalid_format = frozenset({230})
_invalid_key = frozenset({210})
_unauthorised = frozenset({401, 403})
_needs_identifier = ("partner_identifier",)

CASES: tuple[Case, ...] = (
    # Authentication: `Authorization: key=<your-API-key>` on every request.
    Case(
        "auth: no Authorization header",
        f"{SPEC_MESSAGE}; 210 Invalid API key",
        _raw(json.dumps({"rfid-verify": {"rfid": UNKNOWN_UID}}).encode(), lambda _: None),
        _unauthorised,
        _invalid_key,
    ),
    Case(
        "auth: Authorization not key=<api-key>",
        f"{SPEC_MESSAGE}; 210 Invalid API key",
        _raw(json.dumps({"rfid-verify": {"rfid": UNKNOWN_UID}}).encode(), lambda _: "Bearer conformance"),
        _unauthorised,
        _invalid_key,
    ),
    Case(
        "auth: unknown API key",
        f"{SPEC_MESSAGE}; 210 Invalid API key",
        _raw(
            json.dumps({"rfid-verify": {"rfid": UNKNOWN_UID}}).encode(),
            lambda _: f"key={secrets.token_urlsafe(32)}",
        ),
        _unauthorised,
        _invalid_key,
    ),
    # Malformed bodies: "simple JSON over HTTP", UTF-8, the body's key names the message.
    Case(
        "body: not JSON",
        f"{SPEC_MESSAGE}; 230 Invalid request format",
        _raw(b'{"rfid-verify": {"rfid": ', _key),
        _bad_request,
        _invalid_format,
    ),
    Case(
        "body: not UTF-8",
        f"{SPEC_MESSAGE} (All data must be UTF-8 encoded); 230",
        _raw('{"rfid-verify": {"rfid": "0452302\u00c4"}}'.encode("latin-1"), _key),
        _bad_request,
        _invalid_format,
    ),
    Case(
        "body: no message",
        f"{SPEC_MESSAGE} (the body names the message); 230",
        _with_key(lambda _: {}),
        _bad_request,
        _invalid_format,
    ),
    Case(
        "body: two messages",
        f"{SPEC_MESSAGE} (the body names the message); 230",
        _with_key(lambda _: {"rfid-verify": {"rfid": UNKNOWN_UID}, "session-stop": {"session-id": "x"}}),
        _bad_request,
        _invalid_format,
    ),
    Case(
        "body: unknown message name",
        f"{SPEC_MESSAGE}; 230 Invalid request format",
        _message("conformance-no-such-message", {}),
        frozenset({400, 404}),
        _invalid_format,
    ),
    Case(
        "body: a message an EMP does not receive (session-start)",
        "002 8/14 (session-start goes to the CPO); 220/230",
        _message(
            "session-start",
            {"user": {"identifier-type": "evco-id", "identifier": TEST_DRIVER}, "connector-id": "ZZ*CNF*E0"},
        ),
        frozenset({400, 403, 404}),
        frozenset({220, 230}),
    ),
    # rfid-verify (002 21): 200 with 0, 191, 192 or 193.
    Case(
        "rfid-verify: active UID",
        f"002 21 RFID Verify; {SPEC_TEST_UIDS} (active)",
        _message("rfid-verify", lambda context: {"rfid": context.active_uid}),
        _ok,
        _success,
        needs=("active_uid",),
        general_code_ok=False,
    ),
    Case(
        "rfid-verify: inactive UID",
        f"002 21 RFID Verify; {SPEC_TEST_UIDS} (inactive)",
        _message("rfid-verify", lambda context: {"rfid": context.locked_uid}),
        _ok,
        frozenset({191, 192, 193}),
        needs=("locked_uid",),
    ),
    Case(
        "rfid-verify: unknown UID",
        f"002 21 RFID Verify; {SPEC_TEST_UIDS} (does not exist)",
        _message("rfid-verify", {"rfid": UNKNOWN_UID}),
        _ok,
        frozenset({191}),
    ),
    Case(
        "rfid-verify: no rfid field",
        "002 21.1 (rfid is required); 230",
        _message("rfid-verify", {}),
        _bad_request,
        _invalid_format,
    ),
    Case(
        "rfid-verify: not a UID",
        "002 21.1 (8, 14 or 20 hex characters); 230, or 191 not found",
        _message("rfid-verify", {"rfid": "NOT A UID!"}),
        frozenset({200, 400}),
        frozenset({191, 230}),
        general_code_ok=False,
    ),
    # session-post (002 22): 200 with 0.
    Case(
        "session-post: ongoing session (no stop)",
        "002 7 Sending CDRs (omit what is not known yet); 22",
        _message("session-post", _session_post(stop=False)),
        _ok,
        _success,
        needs=_needs_identifier,
        general_code_ok=False,
    ),
    Case(
        "session-post: the example, final",
        "002 22.3 Session Post example",
        _message("session-post", _session_post()),
        _ok,
        _success,
        needs=_needs_identifier,
        general_code_ok=False,
    ),
    Case(
        "session-post: another partner's identifier",
        "002 4 Glossary, partner identifier; 211 Invalid partner identifier",
        _message(
            "session-post",
            lambda context: _session_post(partner_identifier=_foreign_identifier(context))(context),
        ),
        ERROR_STATUSES,
        frozenset({211}),
        needs=_needs_identifier,
    ),
    Case(
        "session-post: no session-id",
        "002 22.1 (session-id is required); 230",
        _message("session-post", _session_post(drop="session-id")),
        _bad_request,
        _invalid_format,
        needs=_needs_identifier,
    ),
    Case(
        "session-post: not an object",
        f"{SPEC_MESSAGE}; 230 Invalid request format",
        _message("session-post", "conformance"),
        _bad_request,
        _invalid_format,
    ),
    # station-post (002 28) and connector-post-status (002 19).
    Case(
        "station-post: new station",
        "002 28.3 Station Post example (deleted: false)",
        _message("station-post", _station(lambda context: context.station_id, deleted=False)),
        _ok,
        _success,
        needs=_needs_identifier,
        general_code_ok=False,
    ),
    Case(
        "station-post: another partner's identifier",
        "002 28.2 Result codes: 211 Invalid partner identifier",
        _message(
            "station-post",
            lambda context: _station(
                lambda c: c.other_station_id,
                deleted=False,
                partner_identifier=_foreign_identifier(context),
                spare_connectors=True,
            )(context),
        ),
        ERROR_STATUSES,
        frozenset({211}),
        needs=_needs_identifier,
    ),
    Case(
        "station-post: EVSE ID of a station elsewhere",
        "004 322 Connector with the same EVSE ID, but with different latitude/longitude exists",
        _message(
            "station-post", _station(lambda context: context.other_station_id, deleted=False, latitude=48.1)
        ),
        ERROR_STATUSES | {409},
        frozenset({322}),
        needs=_needs_identifier,
    ),
    Case(
        "station-post: no connectors",
        "002 28.1 (connectors are required); 230",
        _message(
            "station-post",
            _station(
                lambda context: context.other_station_id,
                deleted=False,
                drop="connectors",
                spare_connectors=True,
            ),
        ),
        _bad_request,
        _invalid_format,
        needs=_needs_identifier,
    ),
    Case(
        "connector-post-status: own connector",
        "002 19.3 Connector Post Status example",
        _message("connector-post-status", _status(lambda context: context.evse_ids[0])),
        _ok,
        _success,
        needs=_needs_identifier,
        general_code_ok=False,
    ),
    Case(
        "connector-post-status: unknown connector",
        "002 19.2 Result codes: 181 EVSE not found",
        _message("connector-post-status", _status(lambda context: context.unknown_evse_id)),
        ERROR_STATUSES,
        frozenset({181}),
        needs=_needs_identifier,
    ),
    Case(
        "connector-post-status: status not in the list",
        "002 19.1 (Available, Occupied, Offline, Reserved, Unknown); 230",
        _message("connector-post-status", _status(lambda context: context.evse_ids[0], status="Broken")),
        _bad_request,
        _invalid_format,
        needs=_needs_identifier,
    ),
    Case(
        "station-post: delete the station",
        "002 28.1 deleted (soft delete the station and its connectors)",
        _message("station-post", _station(lambda context: context.station_id, deleted=True)),
        _ok,
        _success,
        needs=_needs_identifier,
        general_code_ok=False,
    ),
    Case(
        "connector-post-status: connector of a deleted station",
        "002 28.1 deleted; 19.2 181 EVSE not found",
        _message("connector-post-status", _status(lambda context: context.evse_ids[0])),
        ERROR_STATUSES,
        frozenset({181}),
        needs=_needs_identifier,
    ),
    Case(
        "station-post: the example as sent (a deletion)",
        "002 28.3 Station Post example (deleted: true)",
        _message(
            "station-post",
            _station(lambda context: context.example_station_id, deleted=True, spare_connectors=True),
        ),
        _ok,
        _success,
        needs=_needs_identifier,
        general_code_ok=False,
    ),
)

RESULT_CODES_COVERED: frozenset[int] = frozenset(code for case in CASES for code in case.codes)
