"""The whole local stack: simulator, AWS emulator, resources, functions, API, event sources.

Everything is derived from the template; nothing here knows a product function by name.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import apigw, iam, moto_patches
from devstack.api import ApiGateway, HttpServer, UsagePlans
from devstack.emulator import (
    DEFAULT_LOCAL_VALUES,
    AwsEmulator,
    CreateContext,
    create_all,
    load_local_values,
    register_rest_api,
)
from devstack.functions import DEFAULT_POOL_SIZE, FunctionRuntime, FunctionSpec, Invocation
from devstack.sources import (
    NOT_EMULATED_EVENT_TYPES,
    EventSource,
    Schedule,
    Scheduler,
    SqsPoller,
    StreamPoller,
    enabled_in_template,
    event_sources,
    is_enabled,
)
from devstack.template import Pseudo, Template

log = logging.getLogger("devstack")

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
IMPLICIT_API = "ServerlessRestApi"


@dataclass
class Options:
    """`devstack run` options."""

    template: Path = Path("template.yaml")
    host: str = "127.0.0.1"
    api_port: int = 3000
    aws_port: int = 5000
    sim_port: int = 8080
    wait_speedup: float = 1.0
    ready_file: Path | None = None
    simulator: bool = True
    schedules: bool = True
    stack_name: str = "backbone-local"
    region: str = "eu-west-1"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    pool_size: int = DEFAULT_POOL_SIZE
    powertools_dev: bool = False
    local_values: Path = DEFAULT_LOCAL_VALUES
    enforce_iam: bool = False


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return (
        value
        if isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, dict | list)
        else str(value)
    )


class LocalStack:
    """Start everything in order, stop everything in reverse."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.stop_event = threading.Event()
        self.simulator: Any = None
        self.sim_url = ""
        self.aws = AwsEmulator(options.host, options.aws_port, options.region)
        self.template: Template | None = None
        self.runtime: FunctionRuntime | None = None
        self.server: HttpServer | None = None
        self.scheduler: Scheduler | None = None
        self.pollers: list[SqsPoller | StreamPoller] = []
        self.described: dict[str, Any] = {}
        self.function_credentials: dict[str, iam.Credentials] = {}

    # -- start --------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        options = self.options
        overrides = {"Stage": "local", **options.parameter_overrides}
        if options.simulator:
            self.sim_url = self._start_simulator()
            overrides.setdefault("PartnerBaseUrlOverride", self.sim_url)
        template = Template(
            options.template,
            overrides,
            Pseudo(region=options.region, stack_name=options.stack_name),
        )
        self.template = template
        endpoint = self.aws.start()
        log.info("AWS emulator (moto) at %s", endpoint)
        moto_patches.apply(self._invoke_from_aws, options.wait_speedup)
        self._register_implicit_api(template)
        self.described = create_all(template, self.aws, load_local_values(options.local_values))
        if options.enforce_iam:
            self._enforce_iam(template)
        self.runtime = FunctionRuntime(
            [self._function_spec(template, lid) for lid in template.of_type(*FUNCTION_TYPES)]
        )
        routes, sources = self._events(template)
        openapi = template.base_dir / "openapi.yaml"  # the product's, beside its template
        usage_plans = UsagePlans(self.aws.client("apigateway"))
        app = ApiGateway(
            routes, self.invoke, options.region, template.pseudo.account_id, self, usage_plans, openapi
        )
        self.server = HttpServer(app, options.host, options.api_port)
        self.server.start()
        self._start_sources(template, sources)
        info = self.endpoints()
        for route in routes:
            log.info("route %-6s %s%s -> %s", route.method, self.server.url, route.resource, route.function)
        log.info(
            "API at %s  |  AWS at %s  |  simulator at %s", info["api_url"], endpoint, self.sim_url or "-"
        )
        if options.ready_file:
            tmp = options.ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
            tmp.replace(options.ready_file)
        return info

    def _enforce_iam(self, template: Template) -> None:
        """Roles for the functions, an administrator for devstack and the operator, then moto
        checks every request (devstack.iam)."""
        functions = template.of_type(*FUNCTION_TYPES)
        admin_arn = iam.create_admin(self.aws.client("iam"), template.pseudo.account_id)
        self.function_credentials = iam.create_function_roles(
            template, self.aws.client("iam"), self.aws.client("sts"), functions, admin_arn
        )
        iam.enforce()
        log.info("IAM enforced: %d function roles from the template's policies", len(functions))

    def _start_simulator(self) -> str:
        from simulator import PlugsurfingSimulator  # noqa: PLC0415 - only when the simulator runs

        self.simulator = PlugsurfingSimulator(host=self.options.host, port=self.options.sim_port)
        self.simulator.start()
        url = str(self.simulator.base_url).rstrip("/")
        log.info("Plugsurfing simulator at %s", url)
        return url

    def _register_implicit_api(self, template: Template) -> None:
        """SAM creates ServerlessRestApi for Api events without RestApiId; !Ref-able too."""
        ctx = CreateContext(template, self.aws, {})
        template.register(IMPLICIT_API, register_rest_api(ctx, IMPLICIT_API, {}))

    def _function_spec(self, template: Template, logical_id: str) -> FunctionSpec:
        props = template.properties(logical_id)
        physical = template.physical[logical_id]
        code = props.get("CodeUri", props.get("Code"))
        if not isinstance(code, str):
            raise ValueError(f"{logical_id}: CodeUri must be a local folder for devstack, got {code!r}")
        variables = ((props.get("Environment") or {}).get("Variables")) or {}
        name = physical.ref
        environment = {str(k): _text(v) for k, v in variables.items() if v is not None}
        environment.update(
            {
                "AWS_ENDPOINT_URL": self.aws.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                **(
                    self.function_credentials[logical_id].environment()
                    if logical_id in self.function_credentials
                    else {}
                ),
                "AWS_DEFAULT_REGION": self.options.region,
                "AWS_REGION": self.options.region,
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{props.get('Runtime', 'python3.13')}",
                "LAMBDA_TASK_ROOT": str(template.resolve_path(code)),
                "_HANDLER": str(props.get("Handler", "")),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONUNBUFFERED": "1",
                "TZ": ":UTC",
            }
        )
        if self.options.powertools_dev:
            environment["POWERTOOLS_DEV"] = "true"
        reserved = props.get("ReservedConcurrentExecutions")
        workers = self.options.pool_size if reserved is None else min(self.options.pool_size, int(reserved))
        return FunctionSpec(
            logical_id=logical_id,
            function_name=name,
            arn=str(physical.attrs["Arn"]),
            handler=str(props["Handler"]),
            code_dir=str(template.resolve_path(code)),
            layer_dirs=self._layer_dirs(template, logical_id),
            environment=environment,
            timeout_s=float(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            max_workers=workers,
        )

    @staticmethod
    def _layer_dirs(template: Template, logical_id: str) -> tuple[str, ...]:
        """Layers declared in this template, as Lambda mounts them: the content and its python/."""
        dirs: list[str] = []
        for layer in template.raw_properties(logical_id).get("Layers") or []:
            name = layer.get("Ref") if isinstance(layer, dict) else None
            if name not in template.resources or template.resource_type(name) not in LAYER_TYPES:
                continue
            props = template.properties(name)
            content = props.get("ContentUri", props.get("Content"))
            if isinstance(content, str):
                root = template.resolve_path(content)
                dirs.extend(str(p) for p in (root / "python", root) if p.is_dir())
        return tuple(dirs)

    def _apis(self, template: Template) -> dict[str, apigw.RestApi]:
        """RestApis by physical id (what a RestApiId resolves to), implicit one included."""
        apis: dict[str, apigw.RestApi] = {}
        for logical_id in template.of_type("AWS::Serverless::Api"):
            api_id = template.physical[logical_id].ref
            apis[api_id] = apigw.rest_api(logical_id, api_id, template.properties(logical_id))
        implicit_props = template.resolve((template.document.get("Globals") or {}).get("Api") or {})
        implicit_id = template.physical[IMPLICIT_API].ref
        apis[implicit_id] = apigw.rest_api(IMPLICIT_API, implicit_id, implicit_props)
        return apis

    def _events(self, template: Template) -> tuple[list[apigw.Route], list[EventSource]]:
        apis = self._apis(template)
        implicit = apis[template.physical[IMPLICIT_API].ref]
        routes: list[apigw.Route] = []
        sources: list[EventSource] = []
        targets = [*template.of_type(*FUNCTION_TYPES), *template.of_type(*STATE_MACHINE_TYPES)]
        for logical_id in targets:
            for source in event_sources(logical_id, template.properties(logical_id).get("Events") or {}):
                if source.type == "Api":
                    api = apis.get(str(source.properties.get("RestApiId")), implicit)
                    routes.append(apigw.route(api, logical_id, source.properties))
                elif source.type in ("SQS", "DynamoDB", "Schedule", "ScheduleV2"):
                    sources.append(source)
                elif source.type in NOT_EMULATED_EVENT_TYPES:
                    log.warning("%s: %s events are not emulated locally", source.label, source.type)
                else:
                    log.warning("%s: unknown event type %s ignored", source.label, source.type)
        for logical_id in template.of_type("AWS::Lambda::EventSourceMapping"):
            props = template.properties(logical_id)
            target = self.runtime.logical_id(str(props.get("FunctionName"))) if self.runtime else None
            arn = str(props.get("EventSourceArn", ""))
            kind = "SQS" if ":sqs:" in arn else "DynamoDB" if ":dynamodb:" in arn else None
            if target is None or kind is None:
                log.warning("%s: event source mapping not emulated", logical_id)
                continue
            sources.append(EventSource(target, logical_id, kind, {**props, "Queue": arn, "Stream": arn}))
        return routes, sources

    def _start_sources(self, template: Template, sources: list[EventSource]) -> None:
        schedules: list[Schedule] = []
        for source in sources:
            if source.type in ("Schedule", "ScheduleV2"):
                rule = (
                    source.properties.get("Name")
                    or f"{template.pseudo.stack_name}-{source.function}{source.name}"
                )
                schedules.append(
                    Schedule(
                        source,
                        f"arn:aws:events:{self.options.region}:{template.pseudo.account_id}:rule/{rule}",
                    )
                )
                continue
            if not is_enabled(source.properties):
                log.info("%s: disabled in the template", source.label)
                continue
            try:
                poller = self._poller(source)
            except Exception as exc:  # e.g. a queue or stream of another stack: not here locally
                log.error("%s: %s source not polled: %s", source.label, source.type, exc)
                continue
            poller.start()
            self.pollers.append(poller)
            log.info("polling %s for %s", source.type, source.label)
        for schedule in schedules:
            self._create_rule(schedule)
        self.scheduler = Scheduler(
            schedules,
            self._fire,
            self.stop_event,
            automatic=self.options.schedules,
            enabled=self._rule_enabled,
        )
        self.scheduler.start()

    def _create_rule(self, schedule: Schedule) -> None:
        """The schedule's EventBridge rule in the emulator, in the template's State: the
        scheduler honours it, and operators (and `bbctl doctor`) see and switch it as in AWS."""
        state = "ENABLED" if enabled_in_template(schedule) else "DISABLED"
        try:
            self.aws.client("events").put_rule(
                Name=schedule.rule_name,
                ScheduleExpression=schedule.expression,
                State=state,
                Description=f"{schedule.source.label} (local stack: fired while ENABLED)",
            )
        except Exception as exc:  # e.g. an expression moto refuses: the template's State decides
            log.warning(
                "%s: no rule in the emulator (%s); the template's State decides", schedule.source.label, exc
            )

    def _rule_enabled(self, schedule: Schedule) -> bool:
        try:
            rule = self.aws.client("events").describe_rule(Name=schedule.rule_name)
        except Exception:
            return enabled_in_template(schedule)
        return str(rule.get("State")) == "ENABLED"

    def _poller(self, source: EventSource) -> SqsPoller | StreamPoller:
        if source.type == "SQS":
            queue_arn = str(source.properties["Queue"])
            sqs = self.aws.client("sqs")
            return SqsPoller(source, sqs, queue_arn, self.options.region, self.invoke, self.stop_event)
        streams = self.aws.client("dynamodbstreams")
        return StreamPoller(source, streams, self.options.region, self.invoke, self.stop_event)

    # -- invoking -----------------------------------------------------------------------------

    def invoke(self, function: str, event: Any, source: str) -> Invocation:
        assert self.runtime is not None
        return self.runtime.invoke(function, event, source)

    def _invoke_from_aws(self, function_name: str, event: Any) -> tuple[str, bool]:
        """Lambda Invoke through the AWS API (Step Functions tasks, or code calling Lambda)."""
        try:
            result = self.invoke(function_name, event, "lambda:Invoke")
        except KeyError:
            error = {"errorType": "ResourceNotFoundException", "errorMessage": f"no function {function_name}"}
            return json.dumps(error), True
        return json.dumps(result.payload), not result.ok

    def _fire(self, schedule: Schedule, override: Any) -> dict[str, Any]:
        assert self.template is not None
        payload = schedule.payload(self.template.pseudo.account_id, self.options.region, override)
        target = schedule.source.function
        if self.template.resource_type(target) in STATE_MACHINE_TYPES:
            arn = self.template.physical[target].ref
            execution = self.aws.client("stepfunctions").start_execution(
                stateMachineArn=arn, input=json.dumps(payload)
            )
            log.info("schedule %s started %s", schedule.source.label, execution["executionArn"])
            return {"executionArn": execution["executionArn"]}
        return _invocation_view(self.invoke(target, payload, f"schedule:{schedule.source.name}"))

    # -- admin (devstack.api.Admin) -----------------------------------------------------------

    def endpoints(self) -> dict[str, Any]:
        assert self.server is not None
        assert self.template is not None
        return {
            "api_url": self.server.url,
            "aws_endpoint": self.aws.endpoint,
            "sim_url": self.sim_url,
            "region": self.options.region,
            "account_id": self.template.pseudo.account_id,
            "stack_name": self.options.stack_name,
            "pid": os.getpid(),
            "resources": self.described,
            "iam_enforced": bool(self.function_credentials),
            "function_roles": {
                logical_id: f"arn:aws:iam::{self.template.pseudo.account_id}:role/"
                + iam.role_name_of(self.template, logical_id)
                for logical_id in self.function_credentials
            },
        }

    def resources(self) -> dict[str, Any]:
        return self.described

    def fire_schedule(self, function: str, event_name: str | None, payload: Any) -> dict[str, Any]:
        assert self.scheduler is not None
        labels = [label for label in self.scheduler.schedules if label.split("/")[0] == function]
        if event_name:
            labels = [label for label in labels if label == f"{function}/{event_name}"]
        if len(labels) != 1:
            known = ", ".join(sorted(self.scheduler.schedules)) or "none"
            raise KeyError(f"no single schedule {function}/{event_name or '*'} (schedules: {known})")
        return dict(self.scheduler.fire_now(labels[0], payload))

    def invoke_function(self, function: str, event: Any) -> dict[str, Any]:
        return _invocation_view(self.invoke(function, event, "admin"))

    def waits(self) -> list[dict[str, Any]]:
        return moto_patches.recorded_waits()

    def invocations(self) -> list[dict[str, Any]]:
        return list(self.runtime.history) if self.runtime else []

    # -- stop ---------------------------------------------------------------------------------

    def stop(self) -> None:
        log.info("stopping")
        self.stop_event.set()
        for poller in self.pollers:
            poller.join(5)
        if self.scheduler:
            self.scheduler.join(5)
        if self.server:
            self.server.stop()
        if self.runtime:
            self.runtime.close()
        if self.aws.endpoint:
            self.aws.stop()
        if self.simulator is not None:
            self.simulator.stop()
        if self.options.ready_file and self.options.ready_file.exists():
            self.options.ready_file.unlink()
        log.info("stopped")


def _invocation_view(result: Invocation) -> dict[str, Any]:
    view = result.summary()
    view["result" if result.ok else "error"] = result.payload
    return view
