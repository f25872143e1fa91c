"""Lambda tasks of the session poller state machine (statemachine/session_poller.asl.json).

One function, dispatching on the task input's `action` (start, poll, record_failure). Errors
are raised on purpose: their class names are what the ASL retries and catches.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from backbone.observability import bind_correlation, logger, metrics, tracer
from backbone.sessions.poller import TaskInput, run_task
from backbone.sessions.settings import SessionTasksSettings
from backbone.sessions.wiring import session_tasks_dependencies
from backbone.settings import load_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskInput.model_validate(event)
    bind_correlation(session_request_id=task.request_id, execution_arn=task.execution_arn, action=task.action)
    settings = load_settings(SessionTasksSettings)
    return run_task(task, session_tasks_dependencies(settings))
