"""Build the session functions' dependencies from settings, once per process (warm invocations
reuse clients and connections): the one place that builds clients and tables and picks the
partner mode's adapters. Handlers call these; tests pass fakes to the logic instead."""

from __future__ import annotations

from functools import cache

from backbone.aws import clients
from backbone.aws.cdr_queue import SqsCdrQueue
from backbone.keys.aws import KeyStore
from backbone.locations.wiring import connector_lookup
from backbone.partners.factory import API_RETRY, NO_RETRY, plugsurfing_client
from backbone.sessions.aws import DynamoSessionStore, EventBridgePublisher, StepFunctionsExecutions
from backbone.sessions.commands import DriveStarts, EmpStarts
from backbone.sessions.partner import plugsurfing_sessions
from backbone.sessions.ports import ApiDependencies, StartRules, TaskDependencies
from backbone.sessions.settings import SessionApiSettings, SessionTasksSettings

# Tasks: no retries inside the Lambda, the ASL's Retry backs off (no Lambda time spent asleep).
TASK_RETRY_POLICY = NO_RETRY
# API: a short in-process retry for the remote stop, well inside API Gateway's 29 s.
API_RETRY_POLICY = API_RETRY


@cache
def session_tasks_dependencies(settings: SessionTasksSettings) -> TaskDependencies:
    return TaskDependencies(
        store=DynamoSessionStore(
            clients.table(settings.sessions_table, "batch"), settings.activity_retention_days
        ),
        partner=plugsurfing_sessions(plugsurfing_client(settings, TASK_RETRY_POLICY)),
        events=EventBridgePublisher(clients.client("events", "batch"), settings.session_event_bus),
        cdrs=SqsCdrQueue(clients.client("sqs", "batch"), settings.cdr_queue_url),
        policy=settings.policy(),
        cdr_partner_id=settings.cdr_partner_id,
    )


@cache
def session_api_dependencies(settings: SessionApiSettings) -> ApiDependencies:
    starts: StartRules = DriveStarts()
    if settings.partner_mode == "emp" and settings.charging_keys_table:  # required in EMP mode
        starts = EmpStarts(KeyStore(clients.table(settings.charging_keys_table, "api")))
    return ApiDependencies(
        store=DynamoSessionStore(
            clients.table(settings.sessions_table, "api"), settings.activity_retention_days
        ),
        partner=plugsurfing_sessions(plugsurfing_client(settings, API_RETRY_POLICY)),
        executions=StepFunctionsExecutions(
            clients.client("stepfunctions", "api"), settings.session_state_machine_arn
        ),
        starts=starts,
        connectors=connector_lookup(settings),
    )
