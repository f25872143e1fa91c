"""Driver pseudonyms for operator reads (docs/privacy.md, "Pseudonymisation"): an operator types
a UID, contract id or user id; the stack stores `<type>#<pseudonym>` under the stack's pepper
(`PrivacyPepperSecret`), so bbctl reads the pepper and computes the same pseudonym. The pepper is
never printed."""

from __future__ import annotations

from functools import cache

from backbone.aws.secrets import pepper_from_secret
from backbone.privacy.pseudonym import Pseudonymiser, pseudonymiser
from bbctl import Target

PEPPER_SECRET = ("PrivacyPepperSecretArn", "PrivacyPepperSecret", "privacy-pepper")
"""Stack output, logical id, and the name suffix the template gives it (`<stack>/privacy-pepper`)."""


def pepper_secret_name(target: Target) -> str:
    output, logical_id, suffix = PEPPER_SECRET
    if target.local:
        return f"{target.stack_name}/{suffix}"
    return target.output(output, logical_id)


def stack_pseudonymiser(target: Target) -> Pseudonymiser:
    """The stack's pseudonym function; the pepper is read once, on first use."""

    @cache
    def pepper() -> str:
        name = pepper_secret_name(target)
        secret = target.client("secretsmanager").get_secret_value(SecretId=name)
        return pepper_from_secret(secret.get("SecretString") or secret.get("SecretBinary"), name)

    return pseudonymiser(pepper)
