"""Partner API keys, our OIOI partner identifier and the privacy pepper from Secrets Manager.

Secrets are read through Powertools Parameters, cached for `SECRET_MAX_AGE_SECONDS`. A key secret
holds either the bare key or JSON `{"apiKey": "..."}`; the partner identifier secret the bare
identifier or `{"partnerIdentifier": "..."}`. Partner clients (`backbone.partners.factory`) read
the key on each request from that cache, so a rotated key takes effect within
`SECRET_MAX_AGE_SECONDS` without a cold start. Values are never logged nor put in error messages.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities import parameters

from backbone.privacy.pseudonym import PEPPER_MIN_LENGTH

SECRET_MAX_AGE_SECONDS = 300
PARTNER_IDENTIFIER_MIN_LENGTH = 16  # OIOI glossary: "a random string at least 16 characters long"


class SecretFormatError(ValueError):
    """The secret holds no usable value. Names the secret, never its value."""


def get_api_key(secret_name: str, *, max_age: int = SECRET_MAX_AGE_SECONDS) -> str:
    """The API key stored in `secret_name` (cached by Powertools for `max_age` seconds)."""
    return api_key_from_secret(parameters.get_secret(secret_name, max_age=max_age), secret_name)


def get_partner_identifier(secret_name: str, *, max_age: int = SECRET_MAX_AGE_SECONDS) -> str:
    """Our OIOI partner identifier, stored in `secret_name`: the spec wants it hard to guess and
    handed to partners securely, so it is a secret, never a parameter or an environment value."""
    value = parameters.get_secret(secret_name, max_age=max_age)
    identifier = _secret_text(value, secret_name, "partnerIdentifier", "partner identifier")
    if len(identifier) < PARTNER_IDENTIFIER_MIN_LENGTH:
        raise SecretFormatError(
            f"secret {secret_name!r}: an OIOI partner identifier is a random string of at least "
            f"{PARTNER_IDENTIFIER_MIN_LENGTH} characters"
        )
    return identifier


def get_pepper(secret_name: str, *, max_age: int = SECRET_MAX_AGE_SECONDS) -> str:
    """The privacy pepper (`PrivacyPepperSecret`: plain text or `{"pepper": "..."}`), the key of
    every driver pseudonym (`backbone.privacy.pseudonym`). Losing or changing it breaks finding a
    driver's pseudonymised records, so it is retained with the stack and never rotated in place."""
    return pepper_from_secret(parameters.get_secret(secret_name, max_age=max_age), secret_name)


def pepper_from_secret(value: object, secret_name: str) -> str:
    """The pepper in a secret's value (plain or `{"pepper": "..."}`), at least 32 characters."""
    pepper = _secret_text(value, secret_name, "pepper", "pepper")
    if len(pepper) < PEPPER_MIN_LENGTH:
        raise SecretFormatError(
            f"secret {secret_name!r}: a pepper has at least {PEPPER_MIN_LENGTH} characters"
        )
    return pepper


def api_key_from_secret(value: object, secret_name: str) -> str:
    """Accept a plain string or JSON `{"apiKey": "..."}` (as text, bytes or already parsed)."""
    return _secret_text(value, secret_name, "apiKey", "API key")


def _secret_text(value: object, secret_name: str, field: str, what: str) -> str:
    """A plain string, or JSON `{field: "..."}` (as text, bytes or already parsed), stripped."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SecretFormatError(f"secret {secret_name!r} looks like JSON but does not parse") from None
    if isinstance(value, dict):
        value = value.get(field)
    if not isinstance(value, str) or not value.strip():
        expected = f"plain string or {{'{field}': ...}}"
        raise SecretFormatError(f"secret {secret_name!r} holds no {what} ({expected})")
    return value.strip()
