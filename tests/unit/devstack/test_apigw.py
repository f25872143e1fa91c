"""API Gateway behaviour: routing, proxy/authorizer events, policies, gateway responses."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from devstack import apigw
from devstack.apigw import Authorizer, GatewayError, HttpRequest, RestApi, Route

API = RestApi(
    logical_id="Api",
    api_id="abc123defg",
    stage_name="v1",
    authorizers={"Header": Authorizer("Header", "arn:fn", "REQUEST", ("X-Caller",), (), 0)},
    default_authorizer="Header",
    gateway_responses={
        "UNAUTHORIZED": {
            "StatusCode": 401,
            "ResponseParameters": {
                "Headers": {"WWW-Authenticate": "'Caller'", "X-Echo": "method.request.header.X-Req"}
            },
            "ResponseTemplates": {
                "application/json": '{"error": $context.error.messageString, "id": "$context.requestId"}'
            },
        },
        "DEFAULT_5XX": {"ResponseTemplates": {"application/json": '{"oops": "$context.error.responseType"}'}},
    },
)
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def request(method: str = "GET", path: str = "/items/42", body: bytes = b"", **headers: str) -> HttpRequest:
    return HttpRequest(
        method=method,
        path=path,
        headers=[("Host", "localhost:3000"), *[(k.replace("_", "-"), v) for k, v in headers.items()]],
        query=[("tag", "a"), ("tag", "b"), ("page", "2")],
        body=body,
        source_ip="127.0.0.1",
    )


def test_given_static_param_and_greedy_routes_when_matching_then_most_specific_wins() -> None:
    routes = [
        Route(API, "Greedy", "/{proxy+}", "ANY"),
        Route(API, "Param", "/items/{id}", "GET"),
        Route(API, "Static", "/items/special", "GET"),
        Route(API, "Any", "/items/{id}", "ANY"),
    ]

    assert apigw.find_route(routes, "GET", "/items/special")[0].function == "Static"
    assert apigw.find_route(routes, "GET", "/items/7") == (routes[1], {"id": "7"})
    assert apigw.find_route(routes, "DELETE", "/items/7")[0].function == "Any"
    assert apigw.find_route(routes, "POST", "/a/b/c") == (routes[0], {"proxy": "a/b/c"})
    assert apigw.find_route(routes[1:3], "GET", "/other") is None


def test_given_request_when_building_proxy_event_then_it_has_the_rest_api_v1_shape() -> None:
    route = Route(API, "Fn", "/items/{id}", "GET")

    event = apigw.proxy_event(
        route, request(X_Caller="alice"), {"id": "42"}, "req-1", "123456789012", {"principalId": "alice"}, NOW
    )

    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-Caller"] == "alice"
    assert event["multiValueHeaders"]["X-Caller"] == ["alice"]
    assert event["queryStringParameters"] == {"tag": "b", "page": "2"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "page": ["2"]}
    assert event["pathParameters"] == {"id": "42"}
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == "req-1"
    assert context["stage"] == "v1"
    assert context["path"] == "/v1/items/42"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["authorizer"] == {"principalId": "alice"}
    assert context["requestTimeEpoch"] == int(NOW.timestamp() * 1000)


def test_given_binary_or_text_body_when_encoding_then_only_non_utf8_or_binary_types_are_base64() -> None:
    assert apigw.encode_body("héllo".encode(), "text/plain", ()) == ("héllo", False)
    assert apigw.encode_body(b"\xff\x00", None, ()) == (base64.b64encode(b"\xff\x00").decode(), True)
    assert apigw.encode_body(b"png", "image/png", ("image~1*",)) == ("cG5n", True)
    assert apigw.encode_body(b"", "text/plain", ()) == (None, False)


def test_given_request_authorizer_when_building_its_event_then_method_arn_and_request_are_included() -> None:
    route = Route(API, "Fn", "/items/{id}", "GET", authorizer="Header")

    event = apigw.authorizer_event(
        API.authorizers["Header"],
        route,
        request(X_Caller="alice"),
        {"id": "42"},
        "req-1",
        "eu-west-1",
        "123456789012",
        NOW,
    )

    assert event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/v1/GET/items/42"
    assert event["headers"]["X-Caller"] == "alice"
    assert event["pathParameters"] == {"id": "42"}
    assert event["resource"] == "/items/{id}"


def test_given_token_authorizer_when_building_its_event_then_token_from_identity_header() -> None:
    token = Authorizer("Tok", "arn:fn", "TOKEN", ("Authorization",))
    route = Route(API, "Fn", "/items/{id}", "GET", authorizer="Tok")

    event = apigw.authorizer_event(
        token, route, request(Authorization="Bearer x"), {}, "r", "eu-west-1", "1", NOW
    )

    assert event == {
        "type": "TOKEN",
        "authorizationToken": "Bearer x",
        "methodArn": "arn:aws:execute-api:eu-west-1:1:abc123defg/v1/GET/items/42",
    }


def test_given_missing_identity_header_when_checking_identity_then_none_so_401_without_calling() -> None:
    authorizer = API.authorizers["Header"]

    assert apigw.identity_values(authorizer, request()) is None
    assert apigw.identity_values(authorizer, request(x_caller="bob")) == ("bob",)


def test_given_token_validation_expression_when_token_does_not_match_then_no_identity() -> None:
    token = Authorizer("Tok", "arn:fn", "TOKEN", ("Authorization",), validation_expression=r"Bearer .+")

    assert apigw.identity_values(token, request(Authorization="Basic x")) is None
    assert apigw.identity_values(token, request(Authorization="Bearer x")) == ("Bearer x",)


ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/v1/GET/items/42"


def statement(effect: str, resource: object, action: object = "execute-api:Invoke") -> dict[str, object]:
    return {"Effect": effect, "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ([statement("Allow", ARN)], "Allow"),
        ([statement("Allow", "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/*")], "Allow"),
        ([statement("Allow", "arn:aws:execute-api:*:*:abc123defg/v1/GET/items/*")], "Allow"),
        ([statement("Allow", "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/v1/POST/*")], "Implicit"),
        ([statement("Allow", "*"), statement("Deny", [ARN])], "Deny"),
        ([statement("Allow", "*", action="s3:GetObject")], "Implicit"),
        ([statement("Allow", "*", action=["execute-api:*"])], "Allow"),
        ([], "Implicit"),
    ],
)
def test_given_policy_when_evaluated_against_method_arn_then_explicit_deny_wins(
    statements: list[dict[str, object]], expected: str
) -> None:
    assert apigw.evaluate_policy({"Version": "2012-10-17", "Statement": statements}, ARN) == expected


def test_given_single_statement_object_when_evaluated_then_it_counts() -> None:
    assert apigw.evaluate_policy({"Statement": statement("Allow", ARN)}, ARN) == "Allow"


def test_given_authorizer_output_without_policy_or_with_nested_context_then_invalid() -> None:
    with pytest.raises(apigw.InvalidAuthorizerResponse):
        apigw.authorizer_output({"principalId": "x"})
    with pytest.raises(apigw.InvalidAuthorizerResponse):
        apigw.authorizer_output({"principalId": "x", "policyDocument": {}, "context": {"a": {"b": 1}}})
    assert apigw.authorizer_output(
        {"principalId": "x", "policyDocument": {"Statement": []}, "context": {"n": 1}}
    ) == apigw.AuthorizerOutput("x", {"Statement": []}, {"n": 1})
    assert (
        apigw.authorizer_output(
            {"principalId": "x", "policyDocument": {}, "usageIdentifierKey": "k" * 64}
        ).usage_key
        == "k" * 64
    )
    with pytest.raises(apigw.InvalidAuthorizerResponse):
        apigw.authorizer_output({"principalId": "x", "policyDocument": {}, "usageIdentifierKey": 7})


def test_given_a_key_bucket_then_a_burst_passes_and_the_rate_refills_it() -> None:
    bucket = apigw.TokenBucket(rate=2, burst=3, now=0.0)

    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]  # the burst, then 429
    assert bucket.take(0.4) is False  # 0.8 of a token
    assert bucket.take(0.5) is True  # one token after 1/rate seconds
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # never above burst


def test_given_declared_gateway_response_when_unauthorized_then_status_template_and_headers_apply() -> None:
    status, headers, body = apigw.gateway_response(
        API, GatewayError("UNAUTHORIZED"), request(X_Req="r-9"), "req-1"
    )

    assert status == 401
    assert json.loads(body) == {"error": "Unauthorized", "id": "req-1"}
    assert ("WWW-Authenticate", "Caller") in headers
    assert ("X-Echo", "r-9") in headers


def test_given_only_default_5xx_declared_when_integration_fails_then_its_template_with_502() -> None:
    status, _, body = apigw.gateway_response(API, GatewayError("DEFAULT_5XX", status=502), None, "req-1")

    assert status == 502
    assert json.loads(body) == {"oops": "DEFAULT_5XX"}


def test_given_no_declared_response_when_access_denied_then_api_gateway_default_body() -> None:
    status, headers, body = apigw.gateway_response(None, GatewayError("ACCESS_DENIED"), None, "req-1")

    assert status == 403
    assert json.loads(body) == {"message": "User is not authorized to access this resource"}
    assert ("Content-Type", "application/json") in headers


def test_given_authorizer_configuration_error_then_500_with_null_message() -> None:
    status, _, body = apigw.gateway_response(None, GatewayError("AUTHORIZER_CONFIGURATION_ERROR"), None, "r")

    assert (status, json.loads(body)) == (500, {"message": None})


def test_given_proxy_result_when_converting_then_headers_merge_and_base64_body_is_decoded() -> None:
    status, headers, body = apigw.proxy_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )

    assert status == 201
    assert headers == [("Content-Type", "image/png"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert body == b"\x89PNG"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        {"statusCode": "abc"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "unexpected": True},
    ],
)
def test_given_result_breaking_the_proxy_contract_when_converting_then_malformed(payload: object) -> None:
    with pytest.raises(apigw.MalformedProxyResponse):
        apigw.proxy_response(payload)


def test_given_serverless_api_properties_when_building_routes_then_auth_defaults_and_overrides_apply() -> (
    None
):
    api = apigw.rest_api(
        "Api",
        "id1",
        {
            "StageName": "v1",
            "Auth": {
                "DefaultAuthorizer": "Lambda",
                "Authorizers": {
                    "Lambda": {
                        "FunctionArn": "arn:fn",
                        "FunctionPayloadType": "REQUEST",
                        "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": 60},
                    },
                    "Pool": {"UserPoolArn": "arn:cognito"},
                },
            },
        },
    )

    default = apigw.route(api, "Fn", {"Path": "/things/{id}", "Method": "get"})
    public = apigw.route(api, "Fn", {"Path": "/health", "Method": "GET", "Auth": {"Authorizer": "NONE"}})
    iam = apigw.route(api, "Fn", {"Path": "/admin", "Auth": {"Authorizer": "AWS_IAM"}})

    assert (default.authorizer, default.method, default.resource) == ("Lambda", "GET", "/things/{id}")
    assert public.authorizer is None
    assert (iam.authorizer, iam.method) == ("AWS_IAM", "ANY")
    assert api.authorizers["Lambda"].reauthorize_every == 60
    assert "Pool" not in api.authorizers  # Cognito is not emulated
