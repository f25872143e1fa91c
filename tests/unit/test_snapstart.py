"""SnapStart hooks of the OIOI authorizer and receiver, run the way the Lambda runtime runs them.

`snapshot_restore_py` exists only in the Lambda runtime: here a stand-in with the same registry
(callables with their arguments; before-snapshot hooks run last-registered first, after-restore
hooks in order) is handed to `backbone.snapstart`, and each handler module is loaded afresh, as
a function's init phase does, so that it registers its hooks.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

import backbone.observability  # X-Ray opens its UDP socket at import: here, not inside a test
import backbone.snapstart
from backbone.aws import clients
from backbone.receiver.settings import OioiAuthorizerSettings, OioiReceiverSettings
from backbone.receiver.wiring import oioi_authorizer_dependencies, oioi_receiver_dependencies
from backbone.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
Hook = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]


class FakeRuntime:
    """The registry `snapshot_restore_py` keeps, and the order in which the runtime runs it."""

    def __init__(self) -> None:
        self.before: list[Hook] = []
        self.after: list[Hook] = []

    def register_before_snapshot(self, func: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        self.before.append((func, args, kwargs))

    def register_after_restore(self, func: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        self.after.append((func, args, kwargs))

    def snapshot(self) -> None:
        for func, args, kwargs in reversed(self.before):
            func(*args, **kwargs)

    def restore(self) -> None:
        for func, args, kwargs in self.after:
            func(*args, **kwargs)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> FakeRuntime:
    fake = FakeRuntime()
    monkeypatch.setattr(backbone.snapstart, "register_before_snapshot", fake.register_before_snapshot)
    monkeypatch.setattr(backbone.snapstart, "register_after_restore", fake.register_after_restore)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # as the function's role gives it
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("PARTNERS_TABLE", "partners")
    monkeypatch.setenv("CHARGING_KEYS_TABLE", "keys")
    monkeypatch.setenv("STATIONS_TABLE", "stations")
    monkeypatch.setenv("CDR_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/cdr")
    return fake


def init_phase(folder: str, module: str) -> ModuleType:
    """The handler module executed afresh (under a name of its own, so the module other tests
    use is left alone), as Lambda's init phase executes it."""
    spec = importlib.util.spec_from_file_location(
        f"snapstart_{module}", REPO / "functions" / folder / f"{module}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_given_the_lambda_runtime_is_absent_then_no_hook_is_registered() -> None:
    # Tests and the local stack: snapshot_restore_py cannot be imported.
    assert backbone.snapstart.register_before_snapshot is None
    assert backbone.snapstart.prepare_snapshot(services=["dynamodb"], forget=lambda: None) is False


def test_given_a_snapshot_when_environments_are_restored_from_it_then_each_draws_its_own_random_numbers(
    runtime: FakeRuntime,
) -> None:
    init_phase("oioi_authorizer", "handler_oioi_authorizer")
    runtime.snapshot()
    in_snapshot = random.getstate()

    draws = []
    for _ in range(2):  # two execution environments restored from the same memory
        random.setstate(in_snapshot)
        runtime.restore()
        draws.append(random.random())

    assert draws[0] != draws[1]


def authorizer_held() -> list[object]:
    """What a warm authorizer holds: its dependencies and their DynamoDB client."""
    return [
        oioi_authorizer_dependencies(load_settings(OioiAuthorizerSettings)),
        clients.client("dynamodb", "api"),
    ]


def receiver_held() -> list[object]:
    """What a warm receiver holds: its dependencies and their DynamoDB and SQS clients."""
    deps = oioi_receiver_dependencies(load_settings(OioiReceiverSettings))
    return [deps, clients.client("dynamodb", "api"), clients.client("sqs", "api")]


@pytest.mark.parametrize(
    ("folder", "module", "cached", "services"),
    [
        ("oioi_authorizer", "handler_oioi_authorizer", authorizer_held, {"dynamodb"}),
        ("oioi_receiver", "handler_oioi_receiver", receiver_held, {"dynamodb", "sqs"}),
    ],
)
def test_given_a_handler_when_snapshotted_and_restored_then_models_load_before_and_clients_are_rebuilt_after(
    runtime: FakeRuntime,
    monkeypatch: pytest.MonkeyPatch,
    folder: str,
    module: str,
    cached: Callable[[], list[object]],
    services: set[str],
) -> None:
    init_phase(folder, module)
    built: list[str] = []
    real_client = boto3.client

    def client(service: str, **kwargs: Any) -> Any:
        built.append(service)
        return real_client(service, **kwargs)

    monkeypatch.setattr(boto3, "client", client)

    runtime.snapshot()
    assert set(built) == services  # the service models are in the snapshot
    load_settings.cache_clear()
    before = cached()  # what a warm environment would hold

    runtime.restore()

    after = cached()
    # no client (connections, credentials) crosses a restore
    assert all(new is not old for new, old in zip(after, before, strict=True))
    # and the new ones are reused by later requests
    assert all(new is again for new, again in zip(after, cached(), strict=True))
