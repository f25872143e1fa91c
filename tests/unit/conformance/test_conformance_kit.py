"""The OIOI conformance kit judged against endpoints we control (httpx MockTransport): a spec-true
double passes every case; each deliberate deviation fails exactly the cases that check it."""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bbctl import cmd_conformance
from bbctl.cmd_conformance import Outcome, exit_code, run_cases
from bbctl.conformance_cases import ACTIVE_UID, CASES, LOCKED_UID, RunContext

ENDPOINT = "https://oioi.example/api/v4/request"
KEY = "conformance-test-key-0123456789abcdef0123456"
IDENTIFIER = "b7c1e0f2a9d84c36"
STATUSES = {"Available", "Occupied", "Offline", "Reserved", "Unknown"}
RECEIVED = {"rfid-verify", "session-post", "station-post", "connector-post-status"}
OIOI_NAMES = RECEIVED | {"rfid-post", "session-start", "session-stop"}

Answer = tuple[int, dict[str, Any]]


class SpecEndpoint:
    """An EMP's OIOI endpoint written from the spec alone (not from our receiver), small enough to
    read: the reference the kit must pass. `deviate` replaces the answer of one situation."""

    def __init__(self, deviate: Callable[[str, Answer], Answer] | None = None) -> None:
        self.deviate = deviate or (lambda _situation, answer: answer)
        self.stations: dict[str, tuple[float, list[str], bool]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        situation, (status, body) = self.answer(request)
        status, body = self.deviate(situation, (status, body))
        return httpx.Response(status, json=body)

    def answer(self, request: httpx.Request) -> tuple[str, Answer]:
        authorization = request.headers.get("Authorization")
        if authorization is None or not authorization.startswith("key="):
            return "no-key", _error(401, 210)
        if authorization != f"key={KEY}":
            return "bad-key", _error(403, 210)
        try:
            body = json.loads(request.content.decode("utf-8"))
        except ValueError:
            return "malformed", _error(400, 230)
        if not isinstance(body, dict) or len(body) != 1:
            return "malformed", _error(400, 230)
        ((name, payload),) = body.items()
        if name not in RECEIVED:
            return "not-received", _error(400, 220 if name in OIOI_NAMES else 230)
        if not isinstance(payload, dict):
            return "malformed", _error(400, 230)
        return name, getattr(self, name.replace("-", "_"))(payload)

    def rfid_verify(self, payload: dict[str, Any]) -> Answer:
        uid = payload.get("rfid")
        if (
            not isinstance(uid, str)
            or len(uid) not in (8, 14, 20)
            or not all(c in "0123456789ABCDEF" for c in uid)
        ):
            return _error(400, 230)
        return _ok({ACTIVE_UID: 0, LOCKED_UID: 192}.get(uid, 191))

    def session_post(self, payload: dict[str, Any]) -> Answer:
        if "session-id" not in payload:
            return _error(400, 230)
        if payload.get("partner-identifier") != IDENTIFIER:
            return _error(403, 211)
        return _ok(0)

    def station_post(self, payload: dict[str, Any]) -> Answer:
        station = payload.get("station", {})
        if "connectors" not in station:
            return _error(400, 230)
        if payload.get("partner-identifier") != IDENTIFIER:
            return _error(403, 211)
        evse_ids = [connector["id"] for connector in station["connectors"]]
        for other_id, (latitude, held, deleted) in self.stations.items():
            clash = other_id != station["id"] and not deleted and set(held) & set(evse_ids)
            if clash and latitude != station["latitude"]:
                return _error(400, 322)
        self.stations[station["id"]] = (station["latitude"], evse_ids, station["deleted"])
        return _ok(0)

    def connector_post_status(self, payload: dict[str, Any]) -> Answer:
        if payload.get("status") not in STATUSES:
            return _error(400, 230)
        live = {evse for _, held, deleted in self.stations.values() if not deleted for evse in held}
        if payload.get("connector-id") not in live:
            return _error(404, 181)
        return _ok(0)


def _ok(code: int) -> Answer:
    return 200, {"result": {"code": code, "message": "..."}}


def _error(status: int, code: int) -> Answer:
    return status, {"result": {"code": code, "message": "..."}, "error": "why"}


def main(argv: list[str]) -> int:
    """`python -m bbctl conformance ...` with only this command registered (the other groups
    import the product, which has no business in a unit test of a black-box kit)."""
    parser = argparse.ArgumentParser()
    cmd_conformance.register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def run(endpoint: Callable[[httpx.Request], httpx.Response], **context: Any) -> dict[str, Outcome]:
    run_context = RunContext(key=KEY, **({"partner_identifier": IDENTIFIER} | context))
    with httpx.Client(transport=httpx.MockTransport(endpoint)) as client:
        return {outcome.case: outcome for outcome in run_cases(client, ENDPOINT, run_context)}


def failed(outcomes: dict[str, Outcome]) -> set[str]:
    return {name for name, outcome in outcomes.items() if outcome.verdict == "FAIL"}


def test_given_an_endpoint_that_follows_the_spec_then_every_case_passes_and_the_exit_code_is_0() -> None:
    outcomes = run(SpecEndpoint())

    assert {outcome.verdict for outcome in outcomes.values()} == {"PASS"}
    assert exit_code(list(outcomes.values())) == 0


def test_given_an_endpoint_that_answers_success_to_everything_then_every_refusal_case_fails() -> None:
    outcomes = run(lambda _: httpx.Response(200, json={"result": {"code": 0, "message": "Success."}}))

    must_fail = {
        "auth: no Authorization header",
        "auth: unknown API key",
        "body: not JSON",
        "body: not UTF-8",
        "body: unknown message name",
        "rfid-verify: inactive UID",
        "rfid-verify: unknown UID",
        "session-post: another partner's identifier",
        "station-post: another partner's identifier",
        "station-post: EVSE ID of a station elsewhere",
        "connector-post-status: unknown connector",
        "connector-post-status: connector of a deleted station",
    }
    assert must_fail <= failed(outcomes)
    assert outcomes["rfid-verify: active UID"].verdict == "PASS"
    assert outcomes["session-post: the example, final"].verdict == "PASS"
    assert exit_code(list(outcomes.values())) == 1


SESSION_POST_CASES = {
    "session-post: ongoing session (no stop)",
    "session-post: the example, final",
    "session-post: another partner's identifier",
    "session-post: no session-id",
}
STATUS_REFUSALS = {
    "connector-post-status: unknown connector",
    "connector-post-status: status not in the list",
    "connector-post-status: connector of a deleted station",
}
NO_KEY_CASES = {"auth: no Authorization header", "auth: Authorization not key=<api-key>"}
REFUSED_MESSAGES = {"body: a message an EMP does not receive (session-start)", "body: unknown message name"}
INVALID_KEY = (200, {"result": {"code": 210, "message": "Invalid API key"}})
SERVER_ERROR = (500, {"result": {"code": 100, "message": "System error"}})
UNAVAILABLE = (503, {"result": {"code": 100, "message": "System error"}, "error": "x"})
WITHOUT_ERROR = (400, {"result": {"code": 230, "message": "..."}})
SUCCESS = (200, {"result": {"code": 0, "message": "Success."}})


@pytest.mark.parametrize(
    ("situation", "wrong", "fails"),
    [
        ("bad-key", INVALID_KEY, {"auth: unknown API key"}),
        ("bad-key", SERVER_ERROR, {"auth: unknown API key"}),
        ("no-key", (401, {"message": "Unauthorized"}), NO_KEY_CASES),
        ("not-received", WITHOUT_ERROR, REFUSED_MESSAGES),
        ("session-post", UNAVAILABLE, SESSION_POST_CASES),
        ("connector-post-status", SUCCESS, STATUS_REFUSALS),
    ],
    ids=["200-for-a-bad-key", "500-for-a-bad-key", "401-without-oioi-body", "4xx-without-error",
         "session-post-down", "status-always-ok"],
)  # fmt: skip
def test_given_one_deviation_from_the_spec_then_exactly_the_cases_that_check_it_fail(
    situation: str, wrong: Answer, fails: set[str]
) -> None:
    outcomes = run(SpecEndpoint(lambda seen, answer: wrong if seen == situation else answer))

    assert failed(outcomes) == fails
    assert all(outcomes[name].detail for name in fails)  # each failure says why


def test_given_the_general_code_for_a_refusal_then_it_passes_but_never_for_an_authorisation() -> None:
    general = SpecEndpoint(lambda seen, answer: _ok(100) if seen == "rfid-verify" else answer)

    outcomes = run(general)

    assert outcomes["rfid-verify: inactive UID"].verdict == "PASS"
    assert "general code" in outcomes["rfid-verify: inactive UID"].detail
    assert outcomes["rfid-verify: unknown UID"].verdict == "PASS"
    assert outcomes["rfid-verify: active UID"].verdict == "FAIL"  # 100 is no authorisation


def test_given_no_partner_identifier_or_uids_then_those_cases_are_skipped_not_failed() -> None:
    outcomes = run(SpecEndpoint(), partner_identifier=None, active_uid=None, locked_uid=None)

    skipped = {name for name, outcome in outcomes.items() if outcome.verdict == "SKIP"}
    assert "session-post: the example, final" in skipped
    assert "rfid-verify: active UID" in skipped
    assert "rfid-verify: unknown UID" not in skipped
    assert failed(outcomes) == set()


def test_given_an_endpoint_that_does_not_answer_then_every_case_fails() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    outcomes = run(unreachable)

    assert {outcome.got for outcome in outcomes.values()} == {"no answer"}
    assert failed(outcomes) == set(outcomes)


def test_given_the_command_then_it_exits_0_against_a_spec_true_endpoint_and_1_against_a_wrong_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_client = httpx.Client

    def endpoint(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        transport = httpx.MockTransport(handler)
        monkeypatch.setattr(
            cmd_conformance.httpx, "Client", lambda **kw: real_client(transport=transport, **kw)
        )

    endpoint(SpecEndpoint())
    code = main(["conformance", "--endpoint", ENDPOINT, "--key", KEY, "--partner-identifier", IDENTIFIER])
    printed = capsys.readouterr().out
    assert code == 0
    assert "VERDICT" in printed
    assert "0 failed" in printed
    assert KEY not in printed

    endpoint(SpecEndpoint(lambda seen, answer: _ok(0) if seen == "rfid-verify" else answer))
    code = main(["conformance", "--endpoint", ENDPOINT, "--key", KEY, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    failing = {case["case"] for case in report["cases"] if case["verdict"] == "FAIL"}
    assert failing == {"rfid-verify: inactive UID", "rfid-verify: unknown UID", "rfid-verify: no rfid field",
                       "rfid-verify: not a UID"}  # fmt: skip
    assert report["SKIP"] > 0  # no --partner-identifier: the partner-identifier cases are skipped


def test_every_case_names_its_place_in_the_spec_and_writes_only_marked_identifiers() -> None:
    context = RunContext(key=KEY, partner_identifier=IDENTIFIER)
    for case in CASES:
        assert case.spec.startswith(("002 ", "004 ")), case.name
        body = case.build(context).body
        for field in (b'"session-id"', b'"id"'):
            if field in body and case.name.startswith(("session-post", "station-post")):
                assert b'"conformance-' in body or b'"x"' in body, case.name


def test_the_kit_is_a_black_box_it_imports_nothing_of_the_product() -> None:
    tools = Path(cmd_conformance.__file__).parent
    for module in ("cmd_conformance.py", "conformance_cases.py"):
        tree = ast.parse((tools / module).read_text(encoding="utf-8"))
        imported = {
            name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for name in (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            )
        }
        assert not any(name.split(".")[0] == "backbone" for name in imported), module
