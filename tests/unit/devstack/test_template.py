"""Template loading: short-form tags, parameters, conditions, Globals and intrinsic functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.template import Physical, Pseudo, Template, TemplateError, merge_globals

TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev}
  BaseUrl: {Type: String, Default: ""}
  Zones: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  IsLocal: !Equals [!Ref Stage, local]
  HasBaseUrl: !Not [!Equals [!Ref BaseUrl, ""]]
  LocalWithUrl: !And [!Condition IsLocal, !Condition HasBaseUrl]
Mappings:
  Sizes:
    local: {memory: 128}
Globals:
  Function:
    Timeout: 30
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        STAGE: !Ref Stage
        URL: !If [HasBaseUrl, !Sub "${BaseUrl}/drive", "https://partner.example/drive"]
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/shared/}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: !Sub "${AWS::StackName}-table"}
  OnlyLocal:
    Type: AWS::SQS::Queue
    Condition: IsLocal
  OnlyProduction:
    Type: AWS::SQS::Queue
    Condition: LocalWithUrl
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 5
      Layers: [!Ref ExtraLayer]
      MemorySize: !FindInMap [Sizes, !Ref Stage, memory]
      Environment:
        Variables:
          TABLE: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
          URL: plain-override
          LITERAL: !Sub "${!NotAVariable}-${AWS::AccountId}"
          JOINED: !Join ["-", [!Select [1, !Ref Zones], !Select [0, !Split [",", "x,y"]]]]
          DROPPED: !If [IsLocal, !Ref AWS::NoValue, "kept"]
          REGION: !Sub ["${AWS::Region}/${Who}", {Who: me}]
  ExtraLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/extra/}
"""


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def load(path: Path, **overrides: str) -> Template:
    return Template(path, overrides, Pseudo(region="eu-west-1", stack_name="stk"))


def test_given_overrides_when_loaded_then_parameters_use_them_and_defaults_fill_the_rest(
    template_file: Path,
) -> None:
    template = load(template_file, Stage="local")

    assert template.parameters == {"Stage": "local", "BaseUrl": "", "Zones": ["a", "b"]}


def test_given_conditions_when_loaded_then_resources_with_false_conditions_are_skipped(
    template_file: Path,
) -> None:
    assert "OnlyLocal" not in load(template_file).resources
    local = load(template_file, Stage="local")
    assert "OnlyLocal" in local.resources
    assert "OnlyProduction" not in local.resources
    assert "OnlyProduction" in load(template_file, Stage="local", BaseUrl="http://sim").resources


def test_given_globals_when_function_loaded_then_maps_merge_lists_concatenate_scalars_override(
    template_file: Path,
) -> None:
    props = load(template_file).raw_properties("Fn")

    assert props["Timeout"] == 5
    assert props["Layers"] == [{"Ref": "SharedLayer"}, {"Ref": "ExtraLayer"}]
    variables = props["Environment"]["Variables"]
    assert variables["STAGE"] == {"Ref": "Stage"}
    assert variables["URL"] == "plain-override"  # the function's value replaces the global !If
    assert variables["TABLE"] == {"Ref": "Table"}


def test_given_intrinsic_in_globals_and_map_in_resource_then_resource_value_wins_whole() -> None:
    merged = merge_globals({"X": {"Fn::If": ["C", "a", "b"]}}, {"X": {"Key": "v"}})

    assert merged == {"X": {"Key": "v"}}


def test_given_created_resources_when_resolving_then_refs_and_getatts_use_physical_ids(
    template_file: Path,
) -> None:
    template = load(template_file, Stage="local")
    template.register(
        "Table", Physical("stk-table", {"Arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/stk-table"})
    )

    variables = template.properties("Fn")["Environment"]["Variables"]

    assert variables["TABLE"] == "stk-table"
    assert variables["TABLE_ARN"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/stk-table"
    assert variables["LITERAL"] == "${NotAVariable}-123456789012"
    assert variables["JOINED"] == "b-x"
    assert variables["REGION"] == "eu-west-1/me"
    assert "DROPPED" not in variables  # AWS::NoValue removes the key
    assert template.properties("Fn")["MemorySize"] == 128


def test_given_partner_override_when_resolving_globals_then_if_and_sub_pick_it(template_file: Path) -> None:
    template = load(template_file, BaseUrl="http://127.0.0.1:8080")

    url = template.resolve(template.document["Globals"]["Function"]["Environment"]["Variables"]["URL"])

    assert url == "http://127.0.0.1:8080/drive"
    assert template.resolve({"Fn::Sub": "${AWS::StackName}-table"}) == "stk-table"


def test_given_resource_not_emulated_when_get_att_then_arn_shaped_placeholder(template_file: Path) -> None:
    template = load(template_file)

    assert template.resolve({"Fn::GetAtt": ["SharedLayer", "Arn"]}).startswith("arn:aws:lambda:eu-west-1:")
    assert template.resolve({"Ref": "SharedLayer"}) == "stk-SharedLayer"


def test_given_unknown_reference_when_resolving_then_template_error(template_file: Path) -> None:
    with pytest.raises(TemplateError, match="Missing"):
        load(template_file).resolve({"Ref": "Missing"})


def test_given_dependencies_when_ordering_then_referenced_resources_come_first(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionSubstitutions: {Arn: !GetAtt Worker.Arn}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {MACHINE: !Ref Machine}}
      Events:
        Q: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 2}
  Dlq:
    Type: AWS::SQS::Queue
""",
        encoding="utf-8",
    )

    order = load(path).creation_order()

    assert order.index("Worker") < order.index("Machine")  # the function's env is resolved later
    assert order.index("Dlq") < order.index("Queue")


def test_given_product_template_when_loaded_for_local_then_it_resolves_without_errors(
    repo_root: Path,
) -> None:
    template = load(
        repo_root / "template.yaml", Stage="local", PartnerBaseUrlOverride="http://127.0.0.1:8080"
    )

    for logical_id in template.creation_order():
        template.properties(logical_id)
    variables = template.resolve(template.document["Globals"]["Function"]["Environment"]["Variables"])
    assert variables["DRIVE_API_BASE_URL"] == "http://127.0.0.1:8080/drive"
    assert variables["OIOI_ENDPOINT_URL"] == "http://127.0.0.1:8080/api/v4/request"


@pytest.mark.parametrize(("snapstart", "apply_on"), [("true", "PublishedVersions"), ("false", "None")])
def test_given_product_template_with_or_without_snapstart_then_the_oioi_api_calls_the_authorizers_alias(
    repo_root: Path, snapstart: str, apply_on: str
) -> None:
    template = load(repo_root / "template.yaml", Stage="local", OioiSnapStart=snapstart)
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:stk-OioiAuthorizerFunction"
    template.physical["OioiAuthorizerFunction"] = Physical("stk-OioiAuthorizerFunction", {"Arn": arn})

    authorizer = template.properties("OioiApi")["Auth"]["Authorizers"]["OioiKeyAuthorizer"]

    assert authorizer["FunctionArn"] == f"{arn}:live"  # a qualified ARN the local stack maps to the function
    assert template.properties("OioiAuthorizerFunction")["SnapStart"] == {"ApplyOn": apply_on}
    assert template.properties("OioiReceiverFunction")["SnapStart"] == {"ApplyOn": apply_on}
