"""Every key function that calls Plugsurfing reports its calls: a `PartnerCalls` EMF metric per
call, by API family (docs/deployment.md), from the client the partner-client factory builds."""

from __future__ import annotations

import handler_key_reconcile
import pytest
from test_keys_functions import CSV, NOW, drain
from unit.emfcapture import emitted

from backbone.keys import lifecycle as logic
from bbctl.key_import import import_keys


def partner_calls(output: str) -> set[tuple[str, str]]:
    """(api, outcome) of every PartnerCalls value printed."""
    return {
        (metric.dimensions["api"], metric.dimensions["outcome"])
        for metric in emitted(output)
        if metric.name == "PartnerCalls"
    }


@pytest.mark.parametrize("mode", ["emp", "drive"])
def test_given_a_key_enabled_when_key_sync_tells_plugsurfing_then_partner_calls_are_counted_by_api(
    keys, stream, simulator, function_env, lambda_context, capsys, mode
):
    function_env(simulator.drive_base_url, mode=mode)
    simulator.add_user("user-1")
    assert import_keys(CSV, keys, NOW).ok
    logic.change_key(keys, "04523022AA4881", lambda k: logic.assign(k, "user-1", "user", NOW))
    logic.change_key(keys, "04523022AA4881", lambda k: logic.enable(k, NOW))
    capsys.readouterr()

    drain(stream, lambda_context)

    assert (mode, "ok") in partner_calls(capsys.readouterr().out)


def test_given_the_schedule_when_key_reconcile_lists_plugsurfing_then_partner_calls_are_counted(
    keys, simulator, function_env, lambda_context, capsys
):
    function_env(simulator.drive_base_url)
    capsys.readouterr()

    handler_key_reconcile.handler({"repair": False}, lambda_context)

    assert partner_calls(capsys.readouterr().out) == {("emp", "ok")}
