"""API Gateway (REST API, Lambda proxy integration) behaviour, as pure functions over plain data:
routes from the template, proxy and authorizer events, IAM policy evaluation for Lambda
authorizers, gateway responses and the proxy response contract. `devstack.api` serves them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_PROXY_RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer from an AWS::Serverless::Api `Auth.Authorizers` entry."""

    name: str
    function_arn: str
    payload_type: str = "TOKEN"  # SAM's default for Lambda authorizers
    identity_headers: tuple[str, ...] = ("Authorization",)
    identity_query: tuple[str, ...] = ()
    reauthorize_every: int = 300
    validation_expression: str | None = None


@dataclass(frozen=True)
class RestApi:
    """One REST API (an AWS::Serverless::Api resource, or SAM's implicit ServerlessRestApi)."""

    logical_id: str
    api_id: str
    stage_name: str = "Prod"
    authorizers: Mapping[str, Authorizer] = field(default_factory=dict)
    default_authorizer: str | None = None
    gateway_responses: Mapping[str, Any] = field(default_factory=dict)
    binary_media_types: tuple[str, ...] = ()
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    api_key_required: bool = False
    api_key_source: str = "HEADER"  # or AUTHORIZER: the authorizer's usageIdentifierKey


@dataclass(frozen=True)
class Route:
    """One `Api` event of a function: method + resource path -> function."""

    api: RestApi
    function: str
    resource: str
    method: str
    authorizer: str | None = None  # an authorizer name, "AWS_IAM", or None
    api_key_required: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return compile_resource(self.resource)

    def specificity(self) -> tuple[int, ...]:
        """Static segments beat {params}, which beat {greedy+}; ANY comes after a named method."""
        segments = [s for s in self.resource.split("/") if s]
        ranks = [2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in segments]
        return (max(ranks, default=0), *ranks, -len(segments), self.method == "ANY")


@dataclass(frozen=True)
class HttpRequest:
    """What the front end took from the HTTP request (no framework types)."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str = "localhost"

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        values = [v for k, v in self.headers if k.lower() == lowered]
        return values[-1] if values else None

    def query_value(self, name: str) -> str | None:
        values = [v for k, v in self.query if k == name]
        return values[-1] if values else None


def compile_resource(resource: str) -> re.Pattern[str]:
    """/items/{id} -> regex with named groups; {proxy+} is greedy."""
    parts = []
    for segment in resource.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{_group(segment[1:-2])}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{_group(segment[1:-1])}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "/?$" if parts != [""] else "^/$")


def _group(name: str) -> str:
    """Regex group names must be identifiers; path parameter names may contain '-' or '.'."""
    return "p_" + binascii.hexlify(name.encode()).decode()


def _param_name(group: str) -> str:
    return binascii.unhexlify(group[2:]).decode()


def find_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The most specific route for method + path, with its path parameters."""
    for route in sorted(routes, key=Route.specificity):
        if route.method not in (method, "ANY"):
            continue
        match = route.pattern.match(path)
        if match:
            return route, {_param_name(k): v for k, v in match.groupdict().items()}
    return None


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def _is_binary(content_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip()
    return any(fnmatch.fnmatch(media_type, pattern.replace("~1", "/")) for pattern in binary_media_types)


def encode_body(
    body: bytes, content_type: str | None, binary_media_types: tuple[str, ...]
) -> tuple[str | None, bool]:
    """Body as the event carries it: text, or base64 for binary media types and non-UTF-8."""
    if not body:
        return None, False
    if not _is_binary(content_type, binary_media_types):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def request_time(now: dt.datetime) -> str:
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000")


def request_context(
    route: Route, request: HttpRequest, request_id: str, account: str, now: dt.datetime
) -> dict[str, Any]:
    authorization = request.header("Authorization") or ""
    access_key = re.search(r"Credential=([^/,\s]+)", authorization)
    return {
        "accountId": account,
        "apiId": route.api.api_id,
        "domainName": request.host,
        "domainPrefix": request.host.split(".", 1)[0],
        "extendedRequestId": request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": access_key.group(1) if access_key else None,
            "accountId": None,
            "apiKey": request.header("x-api-key"),
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.header("User-Agent"),
            "userArn": None,
        },
        "path": f"/{route.api.stage_name}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": request_time(now),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "resourceId": route.api.api_id[:6],
        "resourcePath": route.resource,
        "stage": route.api.stage_name,
    }


def proxy_event(
    route: Route,
    request: HttpRequest,
    path_parameters: dict[str, str],
    request_id: str,
    account: str,
    authorizer_context: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The Lambda proxy integration event (payload format 1.0) for a request."""
    now = now or dt.datetime.now(dt.UTC)
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    body, is_base64 = encode_body(request.body, request.header("Content-Type"), route.api.binary_media_types)
    context = request_context(route, request, request_id, account, now)
    if authorizer_context is not None:
        context["authorizer"] = authorizer_context
    return {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": dict(route.api.stage_variables) or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def authorizer_event(
    authorizer: Authorizer,
    route: Route,
    request: HttpRequest,
    path_parameters: dict[str, str],
    request_id: str,
    region: str,
    account: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The event a Lambda authorizer receives (REQUEST or TOKEN payload)."""
    arn = method_arn(region, account, route.api.api_id, route.api.stage_name, request.method, request.path)
    if authorizer.payload_type == "TOKEN":
        token = request.header(authorizer.identity_headers[0]) if authorizer.identity_headers else None
        return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
    now = now or dt.datetime.now(dt.UTC)
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    return {
        "type": "REQUEST",
        "methodArn": arn,
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or {},
        "multiValueHeaders": multi_headers or {},
        "queryStringParameters": query or {},
        "multiValueQueryStringParameters": multi_query or {},
        "pathParameters": path_parameters,
        "stageVariables": dict(route.api.stage_variables),
        "requestContext": request_context(route, request, request_id, account, now),
    }


def identity_values(authorizer: Authorizer, request: HttpRequest) -> tuple[str, ...] | None:
    """The identity sources of a request; None when one is missing (401 without calling the
    authorizer, as API Gateway does) or a TOKEN fails its ValidationExpression."""
    values: list[str] = []
    for header in authorizer.identity_headers:
        value = request.header(header)
        if not value:
            return None
        values.append(value)
    for name in authorizer.identity_query:
        value = request.query_value(name)
        if not value:
            return None
        values.append(value)
    if (
        authorizer.validation_expression
        and values
        and not re.fullmatch(authorizer.validation_expression, values[0])
    ):
        return None
    return tuple(values)


# -- authorizer policies -------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard_match(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _action_matches(actions: Any) -> bool:
    return any(_wildcard_match(str(a).lower(), "execute-api:invoke") for a in _as_list(actions))


def evaluate_policy(policy_document: Mapping[str, Any], arn: str) -> str:
    """ "Allow", "Deny" (an explicit Deny matches) or "Implicit" (no statement allows)."""
    allowed = False
    for statement in _as_list(policy_document.get("Statement")):
        if not isinstance(statement, Mapping) or not _action_matches(statement.get("Action")):
            continue
        if not any(_wildcard_match(str(r), arn) for r in _as_list(statement.get("Resource"))):
            continue
        effect = str(statement.get("Effect", "")).lower()
        if effect == "deny":
            return "Deny"
        allowed = allowed or effect == "allow"
    return "Allow" if allowed else "Implicit"


class InvalidAuthorizerResponse(ValueError):
    """The authorizer returned something that is not a policy (API Gateway answers 500)."""


@dataclass(frozen=True)
class AuthorizerOutput:
    principal: str
    policy: Mapping[str, Any]
    context: Mapping[str, Any]
    usage_key: str | None = None  # usageIdentifierKey


def authorizer_output(payload: Any) -> AuthorizerOutput:
    """What an authorizer's response says: principal, policy, context, usage identifier key."""
    if not isinstance(payload, dict) or not isinstance(payload.get("policyDocument"), dict):
        raise InvalidAuthorizerResponse(f"no policyDocument in {payload!r}")
    if "principalId" not in payload:
        raise InvalidAuthorizerResponse("no principalId")
    context = payload.get("context") or {}
    if not isinstance(context, dict) or any(isinstance(v, dict | list) for v in context.values()):
        raise InvalidAuthorizerResponse("context values must be strings, numbers or booleans")
    usage_key = payload.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise InvalidAuthorizerResponse("usageIdentifierKey must be a string")
    return AuthorizerOutput(str(payload["principalId"]), payload["policyDocument"], context, usage_key)


class TokenBucket:
    """API Gateway's throttle of one API key: `burst` requests at once, refilled at `rate`
    per second. Not thread-safe by itself; the caller holds a lock."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self._tokens, self._at = float(burst), now

    def take(self, now: float) -> bool:
        """Whether one more request may pass at `now` (seconds, monotonic)."""
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


# -- gateway responses ---------------------------------------------------------------------------

# API Gateway's response types: default status and message.
GATEWAY_RESPONSE_DEFAULTS: dict[str, tuple[int, str | None]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None),
    "AUTHORIZER_FAILURE": (500, None),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Missing required request parameters"),
    "DEFAULT_4XX": (400, "Bad Request"),
    "DEFAULT_5XX": (500, "Internal server error"),
    "EXPIRED_TOKEN": (403, "The security token included in the request is expired"),
    "INTEGRATION_FAILURE": (504, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "INVALID_API_KEY": (403, "Forbidden"),
    "INVALID_SIGNATURE": (403, "The request signature we calculated does not match"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "RESOURCE_NOT_FOUND": (404, "Not Found"),
    "THROTTLED": (429, "Too Many Requests"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "WAF_FILTERED": (403, "Forbidden"),
}
_DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
_CONTEXT_VARIABLE = re.compile(r"\$(?:\{context\.([A-Za-z0-9_.]+)\}|context\.([A-Za-z0-9_.]+))")


@dataclass(frozen=True)
class GatewayError:
    """An API Gateway-generated response: its type, message and optional status override."""

    response_type: str
    message: str | None = None
    status: int | None = None


def render_template(template: str, variables: Mapping[str, str]) -> str:
    """The `$context.*` subset of VTL that gateway response templates use."""

    def replace(match: re.Match[str]) -> str:
        return variables.get(match.group(1) or match.group(2), "")

    return _CONTEXT_VARIABLE.sub(replace, template)


def _header_value(value: Any, request: HttpRequest | None) -> str | None:
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    if text.startswith("method.request.header.") and request is not None:
        return request.header(text.removeprefix("method.request.header."))
    return text


def gateway_response(
    api: RestApi | None,
    error: GatewayError,
    request: HttpRequest | None,
    request_id: str,
    stage: str = "",
    resource_path: str = "",
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a gateway response, shaped by the Api's GatewayResponses
    (the specific type, else DEFAULT_4XX/DEFAULT_5XX) or API Gateway's defaults."""
    default_status, default_message = GATEWAY_RESPONSE_DEFAULTS[error.response_type]
    status = error.status or default_status
    message = error.message if error.message is not None else default_message
    declared = dict(api.gateway_responses) if api else {}
    family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    custom = declared.get(error.response_type) or declared.get(family) or {}
    if declared.get(error.response_type) and custom.get("StatusCode"):
        status = int(custom["StatusCode"])
    templates = custom.get("ResponseTemplates") or {}
    template = templates.get("application/json") or next(iter(templates.values()), None) or _DEFAULT_TEMPLATE
    variables = {
        "error.message": message if message is not None else "",
        "error.messageString": json.dumps(message),
        "error.responseType": error.response_type,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "stage": stage,
        "resourcePath": resource_path,
        "httpMethod": request.method if request else "",
        "path": request.path if request else "",
        "apiId": api.api_id if api else "",
    }
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
    headers.append(("x-amzn-ErrorType", _error_type_header(error.response_type)))
    for name, value in ((custom.get("ResponseParameters") or {}).get("Headers") or {}).items():
        rendered = _header_value(value, request)
        if rendered is not None:
            headers.append((name, rendered))
    return status, headers, render_template(template, variables).encode()


def _error_type_header(response_type: str) -> str:
    return {
        "UNAUTHORIZED": "UnauthorizedException",
        "ACCESS_DENIED": "AccessDeniedException",
        "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
        "INVALID_API_KEY": "ForbiddenException",
        "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
        "REQUEST_TOO_LARGE": "RequestTooLargeException",
    }.get(response_type, "InternalServerErrorException")


# -- the Lambda proxy response contract ----------------------------------------------------------


class MalformedProxyResponse(ValueError):
    """The function's result breaks the proxy contract (API Gateway answers 502)."""


def proxy_response(payload: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body from a Lambda proxy integration result."""
    if not isinstance(payload, dict):
        raise MalformedProxyResponse(f"result is not an object: {payload!r}")
    extra = set(payload) - _PROXY_RESPONSE_KEYS
    if extra:
        raise MalformedProxyResponse(f"unexpected keys {sorted(extra)}")
    status = payload.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool):
        raise MalformedProxyResponse(f"statusCode {status!r} is not an integer")
    headers = _proxy_headers(payload)
    body = payload.get("body")
    if body is None:
        return status, headers, b""
    if not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string")
    if payload.get("isBase64Encoded"):
        try:
            return status, headers, base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise MalformedProxyResponse("isBase64Encoded body is not base64") from exc
    return status, headers, body.encode("utf-8")


def _proxy_headers(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = [(str(name), _header_text(value)) for name, value in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), _header_text(v)) for v in _as_list(values))
    return headers


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- from the template ---------------------------------------------------------------------------


def _authorizers(auth: Mapping[str, Any]) -> dict[str, Authorizer]:
    found: dict[str, Authorizer] = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        if "FunctionArn" not in spec:
            continue  # Cognito user pools are not emulated; routes using them are rejected
        identity = spec.get("Identity") or {}
        payload_type = str(spec.get("FunctionPayloadType", "TOKEN")).upper()
        if payload_type == "TOKEN":
            headers: tuple[str, ...] = (str(identity.get("Header", "Authorization")),)
        else:
            headers = tuple(str(h) for h in identity.get("Headers") or [])
        found[name] = Authorizer(
            name=name,
            function_arn=str(spec["FunctionArn"]),
            payload_type=payload_type,
            identity_headers=headers,
            identity_query=tuple(str(q) for q in identity.get("QueryStrings") or []),
            reauthorize_every=int(identity.get("ReauthorizeEvery", 300)),
            validation_expression=identity.get("ValidationExpression"),
        )
    return found


def rest_api(logical_id: str, api_id: str, props: Mapping[str, Any]) -> RestApi:
    """A RestApi from resolved AWS::Serverless::Api properties."""
    auth = props.get("Auth") or {}
    default = auth.get("DefaultAuthorizer")
    return RestApi(
        logical_id=logical_id,
        api_id=api_id,
        stage_name=str(props.get("StageName", "Prod")),
        authorizers=_authorizers(auth),
        default_authorizer=str(default) if default and default != "NONE" else None,
        gateway_responses=dict(props.get("GatewayResponses") or {}),
        binary_media_types=tuple(str(t) for t in props.get("BinaryMediaTypes") or []),
        stage_variables={str(k): str(v) for k, v in (props.get("Variables") or {}).items()},
        api_key_required=bool(auth.get("ApiKeyRequired")),
        api_key_source=str(props.get("ApiKeySourceType", "HEADER")).upper(),
    )


def route(api: RestApi, function: str, props: Mapping[str, Any]) -> Route:
    """A Route from a resolved `Api` event's properties."""
    auth = props.get("Auth") or {}
    authorizer = auth.get("Authorizer", api.default_authorizer)
    return Route(
        api=api,
        function=function,
        resource="/" + str(props["Path"]).strip("/") if props["Path"] != "/" else "/",
        method=str(props.get("Method", "ANY")).upper(),
        authorizer=None if authorizer in (None, "NONE") else str(authorizer),
        api_key_required=bool(auth.get("ApiKeyRequired", api.api_key_required)),
    )
