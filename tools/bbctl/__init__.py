"""bbctl: the operator CLI of the Plugsurfing backbone (`python -m bbctl <group> <command>`).

Command groups live in `bbctl/cmd_<group>.py`, each exposing `register(subparsers)` that adds
one group parser whose commands `set_defaults(func=...)` (returning an exit code); `__main__`
discovers them, so adding a group never touches a shared file. Logic stays in the layer
(`backbone`), which is put on the import path from this repository when not installed.

The helpers below say where the commands act: a deployed stack (physical names from its
CloudFormation outputs, `--stack-name`) or the local stack (`--endpoint-url
http://127.0.0.1:5000` or `AWS_ENDPOINT_URL`).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

_LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared"
if _LAYER.is_dir() and str(_LAYER) not in sys.path:
    sys.path.append(str(_LAYER))

LOCAL_STACK_NAME = "backbone-local"
DEFAULT_STACK_NAME = "plugsurfing-backbone-dev"  # samconfig.toml, environment "dev"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """`--endpoint-url`, `--stack-name`, `--region`, `--profile` on a (sub)command."""
    group = parser.add_argument_group("target stack")
    group.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="AWS endpoint of the local stack, e.g. http://127.0.0.1:5000 (default: $AWS_ENDPOINT_URL)",
    )
    group.add_argument(
        "--stack-name",
        default=os.environ.get("BBCTL_STACK_NAME"),
        help=f"CloudFormation stack (default: $BBCTL_STACK_NAME, {LOCAL_STACK_NAME} with an endpoint, "
        f"else {DEFAULT_STACK_NAME})",
    )
    group.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    group.add_argument("--profile", default=os.environ.get("AWS_PROFILE"))


@dataclass
class Target:
    """The stack a command acts on, and boto3 clients pointed at it."""

    endpoint_url: str | None = None
    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Target:
        endpoint = getattr(args, "endpoint_url", None)
        stack = getattr(args, "stack_name", None) or (LOCAL_STACK_NAME if endpoint else DEFAULT_STACK_NAME)
        return cls(
            endpoint, stack, getattr(args, "region", None) or "eu-west-1", getattr(args, "profile", None)
        )

    @property
    def local(self) -> bool:
        return bool(self.endpoint_url)

    @cached_property
    def session(self) -> boto3.Session:
        if self.local:
            # The local stack accepts any credentials; never send real ones to it.
            return boto3.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy credentials
                region_name=self.region,
            )
        return boto3.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
        return self._clients[service]

    def resource(self, service: str) -> Any:
        return self.session.resource(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    @cached_property
    def _stack(self) -> dict[str, Any] | None:
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        except (ClientError, BotoCoreError):
            return None
        return stacks[0] if stacks else None

    def output(self, output_key: str, logical_id: str) -> str:
        """A stack output (physical name of `logical_id`). The local stack has no CloudFormation:
        there, resources are named `<stack>-<LogicalId>`, as the local stack creates them."""
        stack = self._stack
        if stack is not None:
            for output in stack.get("Outputs", []):
                if output.get("OutputKey") == output_key:
                    return str(output["OutputValue"])
        if self.local:
            return f"{self.stack_name}-{logical_id}"
        raise SystemExit(
            f"stack {self.stack_name} has no output {output_key} (is it deployed? --stack-name?)"
        )

    def parameter(self, name: str, default: str) -> str:
        """A template parameter of the deployed stack (the default locally)."""
        stack = self._stack
        for parameter in (stack or {}).get("Parameters", []):
            if parameter.get("ParameterKey") == name:
                return str(parameter.get("ParameterValue") or default)
        return default
