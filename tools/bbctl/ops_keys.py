"""Operator side of the charging keys (`bbctl keys ...`) that no Lambda runs: the whitelist
index upgrade step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import items
from backbone.keys.aws import KeyStore
from backbone.keys.models import WHITELIST_PARTITION, ChargingKey


@dataclass
class WhitelistReindex:
    """What `reindex_whitelist` found (and, unless a dry run, fixed)."""

    checked: int = 0
    added: list[str] = field(default_factory=list)
    """Keys the rule lists that lacked the `whitelist` attribute."""
    removed: list[str] = field(default_factory=list)
    """Keys carrying `whitelist` the rule does not list (e.g. no payment method)."""
    unreadable: list[str] = field(default_factory=list)
    """Items that are not a valid key (left alone; the push skips an invalid UID too)."""
    changed_meanwhile: list[str] = field(default_factory=list)
    """Written by someone else during the run: that write set the attribute by the rule."""


def reindex_whitelist(store: KeyStore, *, apply: bool = True) -> WhitelistReindex:
    """Make every key's sparse `whitelist` attribute agree with the charging rule.

    Every key write sets it by the rule; this fixes items written before the payment method
    was part of the rule (an upgrade step, harmless to repeat). A scan, then one conditional
    update per disagreeing key (on its `version`, so a lifecycle write made meanwhile wins).
    """
    report = WhitelistReindex()
    for item in items(store.table.scan):
        report.checked += 1
        uid = str(item["uid"])
        try:
            wanted = ChargingKey.from_item(item).whitelisted
        except (ValidationError, ValueError):
            report.unreadable.append(uid)
            continue
        if wanted == (item.get("whitelist") == WHITELIST_PARTITION):
            continue
        if apply and not _set_whitelist(store, uid, wanted, item.get("version")):
            report.changed_meanwhile.append(uid)
            continue
        (report.added if wanted else report.removed).append(uid)
    return report


def _set_whitelist(store: KeyStore, uid: str, listed: bool, version: object) -> bool:
    names = {"#wl": "whitelist", "#version": "version"}
    arguments: dict[str, Any] = {}
    if listed:
        arguments["UpdateExpression"] = "SET #wl = :wl"
        arguments["ExpressionAttributeValues"] = {":wl": WHITELIST_PARTITION}
    else:
        arguments["UpdateExpression"] = "REMOVE #wl"
    if version is None:
        condition = "attribute_exists(uid) AND attribute_not_exists(#version)"
    else:
        condition = "#version = :version"
        arguments.setdefault("ExpressionAttributeValues", {})[":version"] = version
    try:
        store.table.update_item(
            Key={"uid": uid}, ConditionExpression=condition, ExpressionAttributeNames=names, **arguments
        )
    except ClientError as error:
        if is_condition_failed(error):
            return False
        raise
    return True
