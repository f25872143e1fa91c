"""Load a SAM template the way CloudFormation would see it after the SAM transform, locally.

Loading applies parameter defaults and overrides, evaluates Conditions, merges `Globals` into
each serverless resource and resolves intrinsic functions against the physical ids of the
resources the emulator has created so far. Nothing here talks to AWS, so it is unit-tested alone.
"""

from __future__ import annotations

import base64
import datetime
import graphlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("devstack.template")

ACCOUNT_ID = "123456789012"  # moto's default account
NO_VALUE = object()  # AWS::NoValue: removed from the enclosing list or mapping

# SAM merges these Globals sections into resources of these types.
_GLOBALS_SECTIONS = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::SimpleTable": "SimpleTable",
    "AWS::Serverless::StateMachine": "StateMachine",
}

# Properties whose references never decide creation order: IAM is not emulated, a function's
# environment and event sources are resolved after every resource exists. Leaving them out
# keeps SAM templates that CloudFormation accepts (role/policy indirection) free of cycles here.
_ORDER_IRRELEVANT_PROPERTIES = frozenset(
    {"Policies", "Role", "RoleArn", "Environment", "Events", "Layers", "DeploymentPreference", "Tags"}
)

_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class TemplateError(Exception):
    """The template cannot be understood (unknown condition, bad intrinsic shape...)."""


@dataclass(frozen=True)
class Pseudo:
    """Pseudo parameters of the local "stack"."""

    region: str = "eu-west-1"
    account_id: str = ACCOUNT_ID
    stack_name: str = "backbone-local"
    partition: str = "aws"

    def as_parameters(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}"
                f":stack/{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }


@dataclass
class Physical:
    """What `!Ref` and `!GetAtt` of a created (or placeholder) resource return."""

    ref: str
    attrs: dict[str, Any] = field(default_factory=dict)
    emulated: bool = True

    def describe(self, resource_type: str) -> dict[str, Any]:
        return {"type": resource_type, "ref": self.ref, "emulated": self.emulated, **self.attrs}


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML with CloudFormation's short-form tags. (cfn-lint has such a loader, but importing
    cfn-lint pulls in sympy and costs seconds on every `devstack run` and every e2e start.)"""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def _plain(node: Any) -> Any:
    """Dates (an unquoted 2010-09-09) back to the text CloudFormation sees."""
    if isinstance(node, Mapping):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, datetime.date):
        return node.isoformat()
    return node


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation YAML (or JSON) document with its short-form intrinsic tags."""
    loaded = _plain(yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader))  # noqa: S506 - safe loader
    if not isinstance(loaded, dict):
        raise TemplateError(f"{path} is not a mapping")
    return loaded


def is_intrinsic(value: Any) -> bool:
    """A one-key mapping like {"Ref": ...} or {"Fn::Sub": ...}: a value, never merged as a map."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def merge_globals(global_props: Mapping[str, Any], resource_props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rule: maps merge (resource wins), lists concatenate (globals first), and
    primitives (and intrinsic functions) from the resource replace the global value."""
    merged: dict[str, Any] = dict(global_props)
    for key, value in resource_props.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            if is_intrinsic(current) or is_intrinsic(value):
                merged[key] = value
            else:
                merged[key] = merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = [*current, *value]
        else:
            merged[key] = value
    return merged


def references(value: Any) -> Iterator[str]:
    """Every logical name `value` refers to through Ref, GetAtt or Sub (parameters included)."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        key, arg = next(iter(value.items())) if is_intrinsic(value) else ("", None)
        if key in ("Ref", "Fn::GetAtt", "Fn::Sub"):
            yield from _intrinsic_references(key, arg)
        else:
            for item in value.values():
                yield from references(item)


def _intrinsic_references(key: str, arg: Any) -> Iterator[str]:
    if key == "Ref" and isinstance(arg, str):
        yield arg.split(".", 1)[0]  # SAM's `<Api>.Stage` needs the Api
    elif key == "Fn::GetAtt":
        target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0]
        if isinstance(target, str):
            yield target
    elif key == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        for name in _SUB_VARIABLE.findall(text):
            if not name.startswith("!") and name not in variables:
                yield name.split(".", 1)[0]
        yield from references(variables)


class Template:
    """A SAM template with parameters, conditions and Globals applied, and a resolver for
    intrinsic functions that learns physical ids as the emulator creates resources."""

    def __init__(
        self,
        path: Path,
        parameter_overrides: Mapping[str, str] | None = None,
        pseudo: Pseudo | None = None,
    ) -> None:
        self.path = path.resolve()
        self.base_dir = self.path.parent
        self.pseudo = pseudo or Pseudo()
        self.document = load_yaml(self.path)
        self.parameters = self._parameter_values(parameter_overrides or {})
        self._condition_values: dict[str, bool] = {}
        self.physical: dict[str, Physical] = {}
        self.resources = self._active_resources()

    # -- parameters, conditions, globals ------------------------------------------------------

    def _parameter_values(self, overrides: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        declared = self.document.get("Parameters") or {}
        for name, spec in declared.items():
            value = overrides.get(name, spec.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no Default and no override")
            if str(spec.get("Type", "String")).startswith(("CommaDelimitedList", "List<")):
                value = value if isinstance(value, list) else [p.strip() for p in str(value).split(",")]
            else:
                value = str(value) if not isinstance(value, str) else value
            values[name] = value
        for name in overrides:
            if name not in declared:
                log.debug("parameter override %s is not declared by the template; ignored", name)
        return values

    def condition(self, name: str) -> bool:
        """The value of a named condition (evaluated once, on first use)."""
        if name not in self._condition_values:
            declared = self.document.get("Conditions") or {}
            if name not in declared:
                raise TemplateError(f"unknown condition {name}")
            self._condition_values[name] = bool(self.resolve(declared[name]))
        return self._condition_values[name]

    def _active_resources(self) -> dict[str, dict[str, Any]]:
        globals_section = self.document.get("Globals") or {}
        active: dict[str, dict[str, Any]] = {}
        for logical_id, declared in (self.document.get("Resources") or {}).items():
            condition = declared.get("Condition")
            if condition and not self.condition(condition):
                log.debug("skipping %s: condition %s is false", logical_id, condition)
                continue
            resource = dict(declared)
            section = _GLOBALS_SECTIONS.get(resource.get("Type", ""))
            if section and section in globals_section:
                resource["Properties"] = merge_globals(
                    globals_section[section], resource.get("Properties") or {}
                )
            resource.setdefault("Properties", {})
            active[logical_id] = resource
        return active

    # -- queries ------------------------------------------------------------------------------

    def resource_type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def of_type(self, *types: str) -> list[str]:
        return [lid for lid, res in self.resources.items() if res.get("Type") in types]

    def raw_properties(self, logical_id: str) -> dict[str, Any]:
        """Properties after Globals, intrinsics unresolved."""
        return dict(self.resources[logical_id]["Properties"])

    def properties(self, logical_id: str) -> dict[str, Any]:
        """Properties after Globals with every intrinsic resolved against what exists now."""
        resolved = self.resolve(self.raw_properties(logical_id))
        return resolved if isinstance(resolved, dict) else {}

    def creation_order(self) -> list[str]:
        """Logical ids ordered so that every resource comes after what it needs at creation."""
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for logical_id, resource in self.resources.items():
            relevant = {
                key: value
                for key, value in resource["Properties"].items()
                if key not in _ORDER_IRRELEVANT_PROPERTIES
            }
            needs = {name for name in references(relevant) if name in self.resources and name != logical_id}
            depends_on = resource.get("DependsOn") or []
            needs.update(
                [depends_on]
                if isinstance(depends_on, str)
                else [d for d in depends_on if d in self.resources]
            )
            sorter.add(logical_id, *sorted(needs))
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as exc:
            log.warning("dependency cycle %s; creating in declaration order", exc.args[1])
            return list(self.resources)

    def register(self, logical_id: str, physical: Physical) -> None:
        self.physical[logical_id] = physical

    def resolve_path(self, relative: str) -> Path:
        """A path from the template (CodeUri, DefinitionUri...) relative to the template folder."""
        return (self.base_dir / relative).resolve()

    # -- intrinsic functions ------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside `value`."""
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if is_intrinsic(value):
            (key, arg) = next(iter(value.items()))
            return self._intrinsic(key, arg)
        return {k: v for k, v in ((k, self._resolve(v)) for k, v in value.items()) if v is not NO_VALUE}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        handler = _INTRINSICS.get(key)
        if handler is None:
            raise TemplateError(f"intrinsic function {key} is not supported locally")
        return handler(self, arg)

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        pseudo = self.pseudo.as_parameters()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name].ref
        base, dot, generated = name.partition(".")
        if dot and base in self.resources:
            return self._sam_generated_ref(base, generated)
        if name in self.resources:
            # Not created (yet): a stable placeholder, like a name CloudFormation would generate.
            return f"{self.pseudo.stack_name}-{name}"
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def _sam_generated_ref(self, base: str, generated: str) -> Any:
        """SAM's references to what it generates: for an Api, `<Api>.Stage` is its stage name and
        `<Api>.Deployment` a placeholder deployment id; for a function with AutoPublishAlias,
        `<Function>.Alias` is the function's ARN qualified with the alias (the local stack runs
        the function's one code, whatever the qualifier)."""
        properties = self.resources[base].get("Properties") or {}
        if generated == "Stage":
            return self.resolve(properties.get("StageName", "Prod"))
        if generated == "Deployment":
            return f"{self.pseudo.stack_name}-{base}Deployment"
        if generated == "Alias" and "AutoPublishAlias" in properties:
            return f"{self.get_att(base, 'Arn')}:{self.resolve(properties['AutoPublishAlias'])}"
        raise TemplateError(f"!Ref {base}.{generated}: SAM generates no such resource")

    def get_att(self, name: str, attribute: str) -> Any:
        physical = self.physical.get(name)
        if physical and attribute in physical.attrs:
            return physical.attrs[attribute]
        if name not in self.resources:
            raise TemplateError(f"!GetAtt {name}.{attribute}: no such resource")
        placeholder = self.placeholder_arn(name)
        log.debug("!GetAtt %s.%s is not emulated; using %s", name, attribute, placeholder)
        return placeholder if attribute.endswith("Arn") else f"{placeholder}/{attribute}"

    def placeholder_arn(self, logical_id: str) -> str:
        """An ARN-shaped stand-in for resources that are not emulated (roles, layers, alarms)."""
        resource_type = self.resources.get(logical_id, {}).get("Type", "AWS::Unknown::Resource")
        service = resource_type.split("::")[1].lower()
        if service == "serverless":
            service = "lambda"
        return (
            f"arn:{self.pseudo.partition}:{service}:{self.pseudo.region}:{self.pseudo.account_id}"
            f":{resource_type.split('::')[-1].lower()}/{self.pseudo.stack_name}-{logical_id}"
        )

    def sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _to_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                target, attribute = name.split(".", 1)
                return _to_text(self.get_att(target, attribute))
            return _to_text(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_to_text(v) for v in value)
    return str(value)


def _fn_get_att(template: Template, arg: Any) -> Any:
    if isinstance(arg, str):
        name, attribute = arg.split(".", 1)
    else:
        name, attribute = arg[0], template.resolve(arg[1])
    return template.get_att(name, attribute)


def _fn_if(template: Template, arg: Any) -> Any:
    name, when_true, when_false = arg
    return template._resolve(when_true if template.condition(name) else when_false)


def _fn_equals(template: Template, arg: Any) -> bool:
    left, right = (template.resolve(v) for v in arg)
    return _to_text(left) == _to_text(right)


def _fn_join(template: Template, arg: Any) -> str:
    delimiter, values = arg[0], template.resolve(arg[1])
    return str(delimiter).join(_to_text(v) for v in values)


def _fn_select(template: Template, arg: Any) -> Any:
    index, values = template.resolve(arg[0]), template.resolve(arg[1])
    return values[int(index)]


def _fn_split(template: Template, arg: Any) -> list[str]:
    return str(template.resolve(arg[1])).split(str(arg[0]))


def _fn_find_in_map(template: Template, arg: Any) -> Any:
    name, top, second = (template.resolve(v) for v in arg[:3])
    mappings = template.document.get("Mappings") or {}
    try:
        return mappings[name][top][second]
    except KeyError as exc:
        if len(arg) > 3 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
            return template.resolve(arg[3]["DefaultValue"])
        raise TemplateError(f"!FindInMap {name}/{top}/{second}: not found") from exc


def _fn_base64(template: Template, arg: Any) -> str:
    return base64.b64encode(_to_text(template.resolve(arg)).encode()).decode()


def _fn_to_json_string(template: Template, arg: Any) -> str:
    return json.dumps(template.resolve(arg), separators=(",", ":"))


def _fn_import_value(template: Template, arg: Any) -> str:
    name = template.resolve(arg)
    log.warning("!ImportValue %s: other stacks do not exist locally; using the export name", name)
    return str(name)


_INTRINSICS: dict[str, Any] = {
    "Ref": lambda t, arg: t.ref(arg),
    "Condition": lambda t, arg: t.condition(arg),
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": lambda t, arg: t.sub(arg),
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Not": lambda t, arg: not bool(t.resolve(arg[0])),
    "Fn::And": lambda t, arg: all(bool(t.resolve(v)) for v in arg),
    "Fn::Or": lambda t, arg: any(bool(t.resolve(v)) for v in arg),
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Base64": _fn_base64,
    "Fn::GetAZs": lambda t, arg: [f"{t.pseudo.region}{zone}" for zone in "abc"],
    "Fn::ImportValue": _fn_import_value,
    "Fn::ToJsonString": _fn_to_json_string,
}
