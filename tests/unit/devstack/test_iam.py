"""`devstack run --enforce-iam`: the policy documents a function's role gets from the template."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.iam import policy_documents
from devstack.template import Physical, Pseudo, Template

TEMPLATE = """
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {}
  Writer:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:PutItem]
              Resource: !GetAtt Table.Arn
            - Effect: Allow
              Action: dynamodb:Query
              Resource: !Sub "${Table.Arn}/index/ByState"
  Templated:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Table
"""


@pytest.fixture
def template(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    loaded = Template(path, {}, Pseudo(region="eu-west-1", stack_name="stk"))
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/stk-Table"
    loaded.register("Table", Physical("stk-Table", {"Arn": arn}))
    return loaded


def test_given_statements_then_the_role_gets_them_resolved_with_transactions_named_as_moto_checks_them(
    template: Template,
) -> None:
    (document,) = policy_documents(template, "Writer")

    table, index = document["Statement"]
    assert table["Resource"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/stk-Table"
    # AWS authorises a transaction by its parts; moto checks the call's own name.
    assert table["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:TransactWriteItems",
        "dynamodb:TransactGetItems",
    ]
    assert index == {
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/stk-Table/index/ByState",
    }


def test_given_a_sam_policy_template_without_the_translator_then_it_says_to_write_statements(
    template: Template,
) -> None:
    # The SAM translator lives in .venv-sam only; a template policy cannot be checked locally.
    with pytest.raises(ValueError, match="write its statements out"):
        policy_documents(template, "Templated")
