"""Refusals of the billing feed."""

from __future__ import annotations


class PublishFailed(Exception):
    """A PutEvents call failed as a whole (throttled, network, permissions): none of its
    events is known to be published, so every record behind them is retried."""
