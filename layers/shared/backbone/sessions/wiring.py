"""Build the session capability's dependencies from settings, once per process (warm invocations
reuse clients and connections). Handlers call these; tests pass fakes to the logic instead."""

from __future__ import annotations

from functools import cache

import boto3

from backbone.keys.aws import KeyStore
from backbone.partners.factory import API_RETRY, NO_RETRY, plugsurfing_client
from backbone.partners.retry import RetryPolicy
from backbone.sessions.commands import CommandDependencies
from backbone.sessions.gateways import (
    EventBridgePublisher,
    PlugsurfingSessions,
    SqsCdrSink,
    StepFunctionsExecutions,
)
from backbone.sessions.poller import TaskDependencies
from backbone.sessions.settings import SessionApiSettings, SessionTasksSettings
from backbone.sessions.store import DynamoSessionStore
from backbone.settings import PlugsurfingApiSettings

# Tasks: no retries inside the Lambda, the ASL's Retry backs off (no Lambda time spent asleep).
TASK_RETRY_POLICY = NO_RETRY
# API: a short in-process retry for the remote stop, well inside API Gateway's 29 s.
API_RETRY_POLICY = API_RETRY


def _partner(settings: PlugsurfingApiSettings, policy: RetryPolicy) -> PlugsurfingSessions:
    return PlugsurfingSessions(plugsurfing_client(settings, policy))


@cache
def task_dependencies(settings: SessionTasksSettings) -> TaskDependencies:
    return TaskDependencies(
        store=DynamoSessionStore(boto3.resource("dynamodb").Table(settings.sessions_table)),
        partner=_partner(settings, TASK_RETRY_POLICY),
        events=EventBridgePublisher(boto3.client("events"), settings.session_event_bus),
        cdrs=SqsCdrSink(boto3.client("sqs"), settings.cdr_queue_url),
        policy=settings.policy(),
        cdr_partner_id=settings.cdr_partner_id,
    )


@cache
def command_dependencies(settings: SessionApiSettings) -> CommandDependencies:
    return CommandDependencies(
        store=DynamoSessionStore(boto3.resource("dynamodb").Table(settings.sessions_table)),
        partner=_partner(settings, API_RETRY_POLICY),
        executions=StepFunctionsExecutions(boto3.client("stepfunctions"), settings.session_state_machine_arn),
        mode=settings.partner_mode,
        keys=KeyStore(boto3.resource("dynamodb").Table(settings.charging_keys_table))
        if settings.charging_keys_table
        else None,
    )
