"""The HTTP front end: the template's API routes (as API Gateway would serve them, with Lambda
authorizers and gateway responses) and the local admin API under /_local/.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from devstack import apigw
from devstack.apigw import GatewayError, HttpRequest, RestApi, Route
from devstack.functions import Invocation

log = logging.getLogger("devstack.api")

Invoke = Callable[[str, Any, str], Invocation]
ADMIN_PREFIX = "/_local/"
OPENAPI_PATH = re.compile(r"/openapi(-[a-z]+)?\.yaml")  # documents served from beside the template


class Admin(Protocol):
    """What the admin API exposes of the running stack."""

    def resources(self) -> dict[str, Any]: ...
    def fire_schedule(self, function: str, event_name: str | None, payload: Any) -> dict[str, Any]: ...
    def invoke_function(self, function: str, event: Any) -> dict[str, Any]: ...
    def waits(self) -> list[dict[str, Any]]: ...
    def invocations(self) -> list[dict[str, Any]]: ...


class AuthorizerCache:
    """Authorizer results per identity, for ReauthorizeEvery seconds (0: no caching)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self._entries.pop(key, None)
                return None
            return entry[1]

    def put(self, key: tuple[Any, ...], value: Any, ttl_s: int) -> None:
        if ttl_s > 0:
            with self._lock:
                self._entries[key] = (time.monotonic() + ttl_s, value)


class UsagePlans:
    """API keys and usage plans as moto holds them (`bbctl partners` manages them there): a
    request on an API key-required route passes if an enabled key with its usage key value is
    in a usage plan of the API's stage, and that key's token bucket has room (THROTTLED, 429,
    otherwise). One bucket per plan and key, as API Gateway throttles each key on its own."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._buckets: dict[tuple[str, str], apigw.TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, api: RestApi, usage_key: str | None) -> GatewayError | None:
        found = self._plan_and_key(api, usage_key) if usage_key else None
        if found is None:
            return GatewayError("INVALID_API_KEY")
        plan, key_id = found
        throttle = plan.get("throttle") or {}
        now = time.monotonic()
        rate, burst = float(throttle.get("rateLimit", 10000)), int(throttle.get("burstLimit", 5000))
        with self._lock:
            bucket = self._buckets.get((plan["id"], key_id))
            if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):  # a changed plan applies
                bucket = self._buckets[(plan["id"], key_id)] = apigw.TokenBucket(rate, burst, now)
            passed = bucket.take(now)
        return None if passed else GatewayError("THROTTLED")

    def _plan_and_key(self, api: RestApi, usage_key: str) -> tuple[dict[str, Any], str] | None:
        keys = self._client.get_api_keys(includeValues=True).get("items", [])
        key_ids = {k["id"] for k in keys if k.get("value") == usage_key and k.get("enabled")}
        for plan in self._client.get_usage_plans().get("items", []):
            stages = plan.get("apiStages") or []
            if not any(s.get("apiId") == api.api_id and s.get("stage") == api.stage_name for s in stages):
                continue
            in_plan = self._client.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", [])
            for key in in_plan:
                if key["id"] in key_ids:
                    return plan, str(key["id"])
        return None


def _json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status=status, mimetype="application/json")


class ApiGateway:
    """WSGI app serving the product routes and the admin API."""

    def __init__(
        self,
        routes: list[Route],
        invoke: Invoke,
        region: str,
        account: str,
        admin: Admin,
        usage_plans: UsagePlans,
        openapi_file: Path | None = None,
    ) -> None:
        self.routes = routes
        self._usage_plans = usage_plans
        self._invoke = invoke
        self._region = region
        self._account = account
        self._admin = admin
        self._openapi_file = openapi_file
        self._cache = AuthorizerCache()
        self._apis = {r.api.logical_id: r.api for r in routes}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith(ADMIN_PREFIX):
            response = self._admin_request(request)
        elif (document := self._document(request.path)) is not None:
            response = Response(document.read_bytes(), mimetype="application/yaml")
        else:
            response = self._product_request(request)
        return response(environ, start_response)

    def _document(self, path: str) -> Path | None:
        """`/openapi.yaml` (the OIOI endpoint's) and its siblings beside the template, e.g.
        `/openapi-internal.yaml` (the internal API's)."""
        if self._openapi_file is None or not OPENAPI_PATH.fullmatch(path):
            return None
        document = self._openapi_file.with_name(path.removeprefix("/"))
        return document if document.is_file() else None

    # -- product routes -----------------------------------------------------------------------

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str], str] | None:
        found = apigw.find_route(self.routes, method, path)
        if found:
            return found[0], found[1], path
        first, _, rest = path.lstrip("/").partition("/")
        staged = [r for r in self.routes if r.api.stage_name == first]
        found = apigw.find_route(staged, method, "/" + rest)
        return (found[0], found[1], "/" + rest) if found else None

    def _gateway(
        self,
        error: GatewayError,
        api: RestApi | None,
        request: HttpRequest | None,
        route: Route | None,
        request_id: str,
    ) -> Response:
        status, headers, body = apigw.gateway_response(
            api, error, request, request_id, api.stage_name if api else "", route.resource if route else ""
        )
        method, path = (request.method, request.path) if request else ("", "")
        log.info("api %s %s -> %d %s", method, path, status, error.response_type)
        return Response(body, status=status, headers=headers)

    def _product_request(self, wsgi_request: Request) -> Response:
        request_id = str(uuid.uuid4())
        matched = self._match(wsgi_request.method, wsgi_request.path)
        only_api = next(iter(self._apis.values())) if len(self._apis) == 1 else None
        api = matched[0].api if matched else only_api
        if (wsgi_request.content_length or 0) > apigw.MAX_BODY_BYTES:
            return self._gateway(GatewayError("REQUEST_TOO_LARGE"), api, None, None, request_id)
        body = wsgi_request.stream.read(apigw.MAX_BODY_BYTES + 1)
        if len(body) > apigw.MAX_BODY_BYTES:
            return self._gateway(GatewayError("REQUEST_TOO_LARGE"), api, None, None, request_id)
        request = HttpRequest(
            method=wsgi_request.method,
            path=matched[2] if matched else wsgi_request.path,
            headers=list(wsgi_request.headers.items()),
            query=list(wsgi_request.args.items(multi=True)),
            body=body,
            source_ip=wsgi_request.remote_addr or "127.0.0.1",
            host=wsgi_request.host,
        )
        if matched is None:
            return self._gateway(GatewayError("MISSING_AUTHENTICATION_TOKEN"), api, request, None, request_id)
        route, path_parameters, _ = matched
        outcome = self._authorize(route, request, path_parameters, request_id)
        if isinstance(outcome, GatewayError):
            return self._gateway(outcome, route.api, request, route, request_id)
        event = apigw.proxy_event(route, request, path_parameters, request_id, self._account, outcome)
        result = self._invoke(route.function, event, f"api:{request.method} {route.resource}")
        if not result.ok:
            return self._gateway(
                GatewayError("DEFAULT_5XX", status=502), route.api, request, route, request_id
            )
        try:
            status, headers, response_body = apigw.proxy_response(result.payload)
        except apigw.MalformedProxyResponse as exc:
            log.warning("%s returned a malformed proxy response: %s", route.function, exc)
            return self._gateway(
                GatewayError("DEFAULT_5XX", status=502), route.api, request, route, request_id
            )
        log.info("api %s %s -> %d (%s)", request.method, request.path, status, route.function)
        return Response(response_body, status=status, headers=[*headers, ("x-amzn-RequestId", request_id)])

    def _authorize(
        self, route: Route, request: HttpRequest, path_parameters: dict[str, str], request_id: str
    ) -> dict[str, Any] | GatewayError | None:
        """The authorizer context for the event, None (no authorizer) or the gateway error.
        Then, as API Gateway: the API key (the caller's x-api-key, or the authorizer's
        usageIdentifierKey with ApiKeySourceType AUTHORIZER) and its usage plan throttle."""
        authorized = self._authorize_caller(route, request, path_parameters, request_id)
        if isinstance(authorized, GatewayError):
            return authorized
        context, authorizer_usage_key = authorized
        if route.api_key_required:
            from_authorizer = route.api.api_key_source == "AUTHORIZER"
            usage_key = authorizer_usage_key if from_authorizer else request.header("x-api-key")
            refused = self._usage_plans.admit(route.api, usage_key)
            if refused is not None:
                return refused
        return context

    def _authorize_caller(
        self, route: Route, request: HttpRequest, path_parameters: dict[str, str], request_id: str
    ) -> tuple[dict[str, Any] | None, str | None] | GatewayError:
        """(authorizer context, usage identifier key), each None without a Lambda authorizer."""
        if route.authorizer is None:
            return None, None
        if route.authorizer == "AWS_IAM":
            # The SigV4 signature itself is not verified locally (IAM is not emulated).
            authorization = request.header("Authorization") or ""
            return (
                (None, None)
                if authorization.startswith("AWS4-HMAC-SHA256 ")
                else GatewayError("MISSING_AUTHENTICATION_TOKEN")
            )
        authorizer = route.api.authorizers.get(route.authorizer)
        if authorizer is None:
            log.error(
                "route %s uses authorizer %s, which is not a Lambda authorizer",
                route.resource,
                route.authorizer,
            )
            return GatewayError("API_CONFIGURATION_ERROR")
        identity = apigw.identity_values(authorizer, request)
        if identity is None:
            return GatewayError("UNAUTHORIZED")
        key = (route.api.logical_id, authorizer.name, identity)
        started = time.perf_counter()
        output = self._cache.get(key)
        if output is None:
            output = self._call_authorizer(authorizer, route, request, path_parameters, request_id)
            if isinstance(output, GatewayError):
                return output
            self._cache.put(key, output, authorizer.reauthorize_every)
        arn = apigw.method_arn(
            self._region, self._account, route.api.api_id, route.api.stage_name, request.method, request.path
        )
        decision = apigw.evaluate_policy(output.policy, arn)
        if decision == "Deny":
            return GatewayError(
                "ACCESS_DENIED", "User is not authorized to access this resource with an explicit deny"
            )
        if decision != "Allow":
            return GatewayError("ACCESS_DENIED")
        latency = int((time.perf_counter() - started) * 1000)
        context = {**output.context, "principalId": output.principal, "integrationLatency": latency}
        return context, output.usage_key

    def _call_authorizer(
        self,
        authorizer: apigw.Authorizer,
        route: Route,
        request: HttpRequest,
        path_parameters: dict[str, str],
        request_id: str,
    ) -> apigw.AuthorizerOutput | GatewayError:
        event = apigw.authorizer_event(
            authorizer, route, request, path_parameters, request_id, self._region, self._account
        )
        try:
            result = self._invoke(authorizer.function_arn, event, f"authorizer:{authorizer.name}")
        except KeyError:
            log.error(
                "authorizer %s: %s is not a function of this stack", authorizer.name, authorizer.function_arn
            )
            return GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
        if not result.ok:
            if result.payload.get("errorMessage") == "Unauthorized":
                return GatewayError("UNAUTHORIZED")  # the documented way for an authorizer to say 401
            return GatewayError("AUTHORIZER_CONFIGURATION_ERROR")
        try:
            return apigw.authorizer_output(result.payload)
        except apigw.InvalidAuthorizerResponse as exc:
            log.warning("authorizer %s: %s", authorizer.name, exc)
            return GatewayError("AUTHORIZER_CONFIGURATION_ERROR")

    # -- admin --------------------------------------------------------------------------------

    def _admin_request(self, request: Request) -> Response:
        parts = [p for p in request.path[len(ADMIN_PREFIX) :].split("/") if p]
        method = request.method
        try:
            if method == "GET" and parts == ["health"]:
                return _json_response({"status": "ok"})
            if method == "GET" and parts == ["resources"]:
                return _json_response(self._admin.resources())
            if method == "GET" and parts == ["routes"]:
                return _json_response(
                    [
                        {
                            "method": r.method,
                            "path": r.resource,
                            "function": r.function,
                            "api": r.api.logical_id,
                            "stage": r.api.stage_name,
                            "authorizer": r.authorizer,
                        }
                        for r in self.routes
                    ]
                )
            if method == "GET" and parts == ["waits"]:
                return _json_response(self._admin.waits())
            if method == "GET" and parts == ["invocations"]:
                entries = self._admin.invocations()
                function = request.args.get("function")
                return _json_response([e for e in entries if function in (None, e["function"])])
            if method == "POST" and len(parts) in (2, 3) and parts[0] == "schedules":
                event_name = parts[2] if len(parts) == 3 else None
                return _json_response(
                    self._admin.fire_schedule(parts[1], event_name, _optional_json(request))
                )
            if method == "POST" and len(parts) == 2 and parts[0] == "invoke":
                return _json_response(self._admin.invoke_function(parts[1], _optional_json(request) or {}))
        except KeyError as exc:
            return _json_response({"message": str(exc.args[0] if exc.args else exc)}, 404)
        except ValueError as exc:
            return _json_response({"message": str(exc)}, 400)
        return _json_response({"message": f"no admin endpoint {method} {request.path}"}, 404)


def _optional_json(request: Request) -> Any:
    data = request.get_data()
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc


class HttpServer:
    """A threaded werkzeug server in a background thread."""

    def __init__(self, app: Callable[..., Any], host: str, port: int) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)
        self.port = self._server.server_port
        self.url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self.port}"  # noqa: S104

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
