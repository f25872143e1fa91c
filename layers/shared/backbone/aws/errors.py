"""What an AWS failure means, read one way everywhere."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

AWS_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
"""Everything a boto3 call raises when AWS (or the network to it) fails."""

CONDITION_FAILED = "ConditionalCheckFailedException"


def error_code(error: BaseException) -> str:
    """The AWS error code of a `ClientError` (`"ConditionalCheckFailedException"`), else ""."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def is_condition_failed(error: BaseException) -> bool:
    """A conditional write (or a transaction, for any of its items) refused by its condition."""
    if error_code(error) == CONDITION_FAILED:
        return True
    if error_code(error) == "TransactionCanceledException" and isinstance(error, ClientError):
        reasons = error.response.get("CancellationReasons", [])
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return False
