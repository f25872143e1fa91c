"""openapi.yaml describes the endpoint as built: every message the receiver accepts, schemas the
spec's own examples satisfy, and every status the receiver can answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from receiverfakes import seed_json

from backbone.receiver import errors
from backbone.receiver.access import Unauthenticated
from backbone.receiver.dispatch import ACCEPTED_MESSAGES

SPEC: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[3] / "openapi.yaml").read_text())
OPERATION = SPEC["paths"]["/api/v4/request"]["post"]
BODY = OPERATION["requestBody"]["content"]["application/json"]


def _validator() -> Draft202012Validator:
    # Refs are "#/components/...": validate against a root that carries the components.
    schema = {**BODY["schema"], "components": SPEC["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_document_is_valid_openapi() -> None:
    validate(SPEC)


def test_every_message_the_receiver_accepts_is_described() -> None:
    described = set()
    for option in BODY["schema"]["oneOf"]:
        name = option["$ref"].rsplit("/", 1)[-1]
        described |= set(SPEC["components"]["schemas"][name]["properties"])
    assert described == set(ACCEPTED_MESSAGES)


@pytest.mark.parametrize("message", sorted(ACCEPTED_MESSAGES))
def test_given_the_spec_example_of_an_accepted_message_then_it_satisfies_the_schema(message: str) -> None:
    _validator().validate(seed_json(message))


@pytest.mark.parametrize("name", sorted(BODY["examples"]))
def test_the_documents_own_examples_satisfy_the_schema(name: str) -> None:
    _validator().validate(BODY["examples"][name]["value"])


@pytest.mark.parametrize("message", ["rfid-post", "session-start", "session-stop"])
def test_messages_we_do_not_receive_are_not_described(message: str) -> None:
    assert not _validator().is_valid(seed_json(message))


def test_every_status_the_receiver_answers_is_documented() -> None:
    refusals = [cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, Exception)]
    statuses = {getattr(cls, "http_status", 500) for cls in [*refusals, Unauthenticated]} | {200, 500}
    assert statuses <= {int(status) for status in OPERATION["responses"]}


def test_the_security_scheme_is_the_oioi_authorization_header() -> None:
    scheme = SPEC["components"]["securitySchemes"]["OioiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert SPEC["security"] == [{"OioiKey": []}]
