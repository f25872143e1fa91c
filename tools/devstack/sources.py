"""Event sources Lambda's own pollers and EventBridge would drive in AWS: SQS queues, DynamoDB
streams and schedules. moto's SQS mapping sends one record at a time and ignores
`batchItemFailures`, and its schedules never fire, so the local stack drives them itself.

The event builders, rate/cron parsing and filter matching are pure functions (unit-tested);
the pollers and the scheduler are threads that use them against the emulator.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import re
import threading
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from devstack.functions import Invocation

log = logging.getLogger("devstack.sources")

UTC = dt.UTC
_SQS_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)
NOT_EMULATED_EVENT_TYPES = frozenset(
    {"SNS", "S3", "Kinesis", "EventBridgeRule", "CloudWatchEvent", "HttpApi", "IoTRule", "MQ", "MSK"}
)

Invoke = Callable[[str, Any, str], Invocation]


@dataclass(frozen=True)
class EventSource:
    """One entry of a function's `Events` (resolved), or an AWS::Lambda::EventSourceMapping."""

    function: str
    name: str
    type: str
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.function}/{self.name}"


def event_sources(function: str, events: dict[str, Any]) -> list[EventSource]:
    return [
        EventSource(function, name, str(spec.get("Type")), dict(spec.get("Properties") or {}))
        for name, spec in (events or {}).items()
    ]


def is_enabled(props: dict[str, Any]) -> bool:
    if str(props.get("Enabled", "true")).lower() == "false":
        return False
    return str(props.get("State", "ENABLED")).upper() == "ENABLED"


# -- filters (Lambda event filtering: a subset of EventBridge patterns) ---------------------------

_MISSING = object()


def _match_rule(rule: Any, value: Any) -> bool:
    if isinstance(value, list):
        return any(_match_rule(rule, item) for item in value)
    if not isinstance(rule, dict):
        return value is not _MISSING and value == rule
    if "exists" in rule:
        return (value is not _MISSING) == bool(rule["exists"])
    if value is _MISSING:
        return False
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    if "suffix" in rule:
        return isinstance(value, str) and value.endswith(rule["suffix"])
    if "equals-ignore-case" in rule:
        return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
    if "anything-but" in rule:
        excluded = rule["anything-but"]
        return value not in (excluded if isinstance(excluded, list) else [excluded])
    if "numeric" in rule:
        return _match_numeric(rule["numeric"], value)
    log.warning("filter operator %s is not supported locally; treated as a match", sorted(rule))
    return True


def _match_numeric(conditions: list[Any], value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    checks = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    pairs = zip(conditions[::2], conditions[1::2], strict=False)
    return all(checks[op](value, bound) for op, bound in pairs)


def matches_pattern(pattern: dict[str, Any], data: Any) -> bool:
    """Does `data` match an event filter pattern (keys nest, leaves are lists of rules)?"""
    for key, rule in pattern.items():
        value = data.get(key, _MISSING) if isinstance(data, dict) else _MISSING
        if isinstance(rule, dict):
            if not isinstance(value, dict) or not matches_pattern(rule, value):
                return False
        elif isinstance(rule, list):
            if not any(_match_rule(r, value) for r in rule):
                return False
        elif not _match_rule(rule, value):
            return False
    return True


def filter_patterns(props: dict[str, Any]) -> list[dict[str, Any]]:
    filters = (props.get("FilterCriteria") or {}).get("Filters") or []
    return [json.loads(f["Pattern"]) if isinstance(f["Pattern"], str) else f["Pattern"] for f in filters]


def passes_filters(patterns: list[dict[str, Any]], record: dict[str, Any], body_key: str | None) -> bool:
    """Any pattern matches (no pattern: everything passes). For SQS the body is matched as JSON."""
    if not patterns:
        return True
    data = dict(record)
    if body_key and isinstance(data.get(body_key), str):
        with contextlib.suppress(json.JSONDecodeError):  # a plain-text body is matched as text
            data[body_key] = json.loads(data[body_key])
    return any(matches_pattern(pattern, data) for pattern in patterns)


# -- partial batch responses ---------------------------------------------------------------------


def failed_item_ids(result: Invocation, report_failures: bool, item_ids: list[str]) -> set[str]:
    """Which items of a batch failed: all on an error; with ReportBatchItemFailures those the
    function names, where an invalid response fails the whole batch (as Lambda does)."""
    if not result.ok:
        return set(item_ids)
    if not report_failures or not isinstance(result.payload, dict):
        return set()
    failures = result.payload.get("batchItemFailures")
    if not failures:
        return set()
    named = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if not named.issubset(set(item_ids)):
        log.warning("invalid batchItemFailures %s: the whole batch is treated as failed", failures)
        return set(item_ids)
    return {str(item) for item in named}


def reports_failures(props: dict[str, Any]) -> bool:
    return "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])


# -- SQS -----------------------------------------------------------------------------------------


def _b64(value: Any) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message as Lambda's SQS event record."""
    attributes = message.get("Attributes") or {}
    message_attributes = {
        name: {
            **({"stringValue": value["StringValue"]} if "StringValue" in value else {}),
            **({"binaryValue": _b64(value["BinaryValue"])} if "BinaryValue" in value else {}),
            "stringListValues": list(value.get("StringListValues") or []),
            "binaryListValues": [_b64(v) for v in value.get("BinaryListValues") or []],
            "dataType": value["DataType"],
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {key: attributes[key] for key in _SQS_RECORD_ATTRIBUTES if key in attributes},
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsPoller:
    """Lambda's SQS poller for one event source: batch, invoke, delete what succeeded."""

    def __init__(
        self,
        source: EventSource,
        sqs: Any,
        queue_arn: str,
        region: str,
        invoke: Invoke,
        stop: threading.Event,
    ) -> None:
        self.source = source
        self._sqs = sqs
        self.queue_arn = queue_arn
        self.queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
        self._region = region
        self._invoke = invoke
        self._stop = stop
        props = source.properties
        self._batch_size = int(props.get("BatchSize", 10))
        self._window_s = float(props.get("MaximumBatchingWindowInSeconds", 0))
        self._report = reports_failures(props)
        self._patterns = filter_patterns(props)
        self._thread = threading.Thread(target=self._run, name=f"sqs:{source.label}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages") or [])

    def _batch(self) -> list[dict[str, Any]]:
        batch = self._receive(self._batch_size, 1)
        deadline = time.monotonic() + self._window_s
        while (
            batch
            and len(batch) < self._batch_size
            and time.monotonic() < deadline
            and not self._stop.is_set()
        ):
            batch += self._receive(self._batch_size - len(batch), 0) or []
            if len(batch) < self._batch_size:
                self._stop.wait(min(0.2, max(0.0, deadline - time.monotonic())))
        return batch

    def fire_if_enabled(self, schedule: Schedule) -> bool:
        """A due schedule fires only while enabled; True if it fired."""
        if not self._enabled(schedule):
            log.info("schedule %s is due but disabled (rule %s)", schedule.source.label, schedule.rule_name)
            return False
        try:
            self._fire(schedule, None)
        except Exception:
            log.exception("schedule %s failed", schedule.source.label)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("SQS poller %s failed; retrying in 1 s", self.source.label)
                self._stop.wait(1)

    def poll_once(self) -> None:
        messages = self._batch()
        if not messages:
            return
        records = [sqs_record(m, self.queue_arn, self._region) for m in messages]
        wanted = [r for r in records if passes_filters(self._patterns, r, "body")]
        dropped = [r for r in records if r not in wanted]
        self._delete(dropped)  # Lambda deletes messages a filter rejects
        if not wanted:
            return
        queue_name = self.queue_arn.rsplit(":", 1)[-1]
        result = self._invoke(self.source.function, {"Records": wanted}, f"sqs:{queue_name}")
        failed = failed_item_ids(result, self._report, [r["messageId"] for r in wanted])
        self._delete([r for r in wanted if r["messageId"] not in failed])
        if failed:
            log.info(
                "%s: %d of %d records stay on %s for retry",
                self.source.label,
                len(failed),
                len(wanted),
                queue_name,
            )

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )


# -- DynamoDB streams ----------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json_safe(v) for v in value]
    return value


def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record (boto3-decoded) as Lambda's DynamoDB event record."""
    converted = _json_safe(record)
    converted["awsRegion"] = region
    converted["eventSourceARN"] = stream_arn
    converted.setdefault("eventVersion", "1.1")
    return dict(converted)


class StreamPoller:
    """Lambda's DynamoDB stream poller for one event source: in order, retrying failed batches
    from the first failed record (ReportBatchItemFailures) up to MaximumRetryAttempts."""

    def __init__(
        self, source: EventSource, streams: Any, region: str, invoke: Invoke, stop: threading.Event
    ) -> None:
        self.source = source
        self._streams = streams
        props = source.properties
        self.stream_arn = str(props["Stream"])
        self._region = region
        self._invoke = invoke
        self._stop = stop
        self._batch_size = int(props.get("BatchSize", 100))
        self._report = reports_failures(props)
        self._max_retries = int(props.get("MaximumRetryAttempts", -1))
        self._patterns = filter_patterns(props)
        position = str(props.get("StartingPosition", "LATEST"))
        shard = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0][
            "ShardId"
        ]
        self._iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard,
            ShardIteratorType="TRIM_HORIZON" if position == "TRIM_HORIZON" else "LATEST",
        )["ShardIterator"]
        self._thread = threading.Thread(target=self._run, name=f"stream:{source.label}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def fire_if_enabled(self, schedule: Schedule) -> bool:
        """A due schedule fires only while enabled; True if it fired."""
        if not self._enabled(schedule):
            log.info("schedule %s is due but disabled (rule %s)", schedule.source.label, schedule.rule_name)
            return False
        try:
            self._fire(schedule, None)
        except Exception:
            log.exception("schedule %s failed", schedule.source.label)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    self._stop.wait(0.5)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("stream poller %s failed; retrying in 1 s", self.source.label)
                self._stop.wait(1)

    def poll_once(self) -> bool:
        response = self._streams.get_records(ShardIterator=self._iterator, Limit=self._batch_size)
        self._iterator = response["NextShardIterator"]
        records = [stream_record(r, self.stream_arn, self._region) for r in response.get("Records") or []]
        wanted = [r for r in records if passes_filters(self._patterns, r, None)]
        if wanted:
            self._process(wanted)
        return bool(records)

    def _process(self, records: list[dict[str, Any]]) -> None:
        attempt = 0
        pending = records
        while pending and not self._stop.is_set():
            result = self._invoke(self.source.function, {"Records": pending}, f"dynamodb:{self.source.name}")
            sequence = [r["dynamodb"]["SequenceNumber"] for r in pending]
            failed = failed_item_ids(result, self._report, sequence)
            if not failed:
                return
            attempt += 1
            if 0 <= self._max_retries < attempt:
                log.warning(
                    "%s: giving up on %d records after %d retries",
                    self.source.label,
                    len(pending),
                    attempt - 1,
                )
                return
            first = min(sequence.index(s) for s in failed)
            pending = pending[first:]
            self._stop.wait(min(30.0, 0.5 * 2 ** (attempt - 1)))


# -- schedules -----------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_AT = re.compile(r"^at\(\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s*\)$")


def parse_rate(expression: str) -> dt.timedelta:
    """`rate(5 minutes)` -> 5 minutes. ValueError for anything else."""
    match = _RATE.match(expression.strip())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a rate expression: {expression}")
    unit = match.group(2).rstrip("s") + "s"
    return dt.timedelta(**{unit: int(match.group(1))})


class UnsupportedCron(ValueError):
    """A cron feature (L, W, #) the small local evaluator does not implement."""


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_WEEKDAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


def _cron_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The allowed values of one cron field; None for `*`/`?` (anything)."""
    if text in ("*", "?"):
        return None
    without_names = text.upper()
    for name in names or {}:
        without_names = without_names.replace(name, "")
    if any(marker in without_names for marker in ("L", "W", "#")):
        raise UnsupportedCron(f"cron field {text!r} uses L, W or # (not evaluated locally)")
    values: set[int] = set()
    for part in text.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            start, end = low, high
        else:
            first, _, last = spec.partition("-")
            start = names.get(first.upper(), 0) if names and first.upper() in names else int(first)
            end = (
                (names.get(last.upper(), 0) if names and last.upper() in names else int(last))
                if last
                else start
            )
            if step_text and not last:
                end = high
        values.update(range(start, end + 1, step))
    return values


@dataclass(frozen=True)
class Cron:
    """AWS cron: minutes hours day-of-month month day-of-week year (day-of-week 1 = Sunday)."""

    minutes: set[int] | None
    hours: set[int] | None
    days: set[int] | None
    months: set[int] | None
    weekdays: set[int] | None
    years: set[int] | None

    @classmethod
    def parse(cls, expression: str) -> Cron:
        match = re.match(r"^cron\((.*)\)$", expression.strip())
        fields = match.group(1).split() if match else []
        if len(fields) != 6:
            raise ValueError(f"not a cron expression: {expression}")
        return cls(
            _cron_field(fields[0], 0, 59),
            _cron_field(fields[1], 0, 23),
            _cron_field(fields[2], 1, 31),
            _cron_field(fields[3], 1, 12, _MONTHS),
            _cron_field(fields[4], 1, 7, _WEEKDAYS),
            _cron_field(fields[5], 1970, 2199),
        )

    def _day_matches(self, day: dt.date) -> bool:
        aws_weekday = (day.isoweekday() % 7) + 1  # Sunday = 1
        return (
            (self.years is None or day.year in self.years)
            and (self.months is None or day.month in self.months)
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or aws_weekday in self.weekdays)
        )

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first matching minute strictly after `after` (same timezone), within 5 years."""
        start = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        hours = sorted(self.hours) if self.hours is not None else list(range(24))
        minutes = sorted(self.minutes) if self.minutes is not None else list(range(60))
        for offset in range(366 * 5):
            day = start.date() + dt.timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in hours:
                for minute in minutes:
                    candidate = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=after.tzinfo)
                    if candidate >= start:
                        return candidate
        return None


def next_fire(expression: str, after: dt.datetime, timezone: str = "UTC") -> dt.datetime | None:
    """When a schedule expression fires next after `after` (UTC in, UTC out); None: never."""
    expression = expression.strip()
    if expression.startswith("rate("):
        return after + parse_rate(expression)
    if expression.startswith("at("):
        match = _AT.match(expression)
        if not match:
            raise ValueError(f"not an at() expression: {expression}")
        when = dt.datetime.fromisoformat(match.group(1)).replace(tzinfo=zoneinfo.ZoneInfo(timezone))
        return when.astimezone(UTC) if when > after else None
    local = after.astimezone(zoneinfo.ZoneInfo(timezone))
    found = Cron.parse(expression).next_after(local)
    return found.astimezone(UTC) if found else None


def scheduled_event(
    rule_arn: str, account: str, region: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a rule sends when it has no Input."""
    now = now or dt.datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


@dataclass
class Schedule:
    """One Schedule/ScheduleV2 event of a function (or state machine)."""

    source: EventSource
    rule_arn: str
    next_at: dt.datetime | None = None

    @property
    def rule_name(self) -> str:
        """The EventBridge rule of this schedule (created in the emulator: its State is the switch)."""
        return self.rule_arn.rsplit("/", 1)[-1]

    @property
    def expression(self) -> str:
        props = self.source.properties
        return str(props.get("Schedule") or props.get("ScheduleExpression") or "")

    @property
    def timezone(self) -> str:
        return str(self.source.properties.get("ScheduleExpressionTimezone") or "UTC")

    def payload(self, account: str, region: str, override: Any = None) -> Any:
        if override is not None:
            return override
        given = self.source.properties.get("Input")
        if given is not None:
            return json.loads(given) if isinstance(given, str) else given
        if self.source.type == "ScheduleV2":
            return {}  # EventBridge Scheduler sends no event envelope of its own
        return scheduled_event(self.rule_arn, account, region)


def enabled_in_template(schedule: Schedule) -> bool:
    return is_enabled(schedule.source.properties)


class Scheduler:
    """Fires schedules when due (if enabled) and on demand (admin API / `devstack fire`).

    `enabled` is asked each time a schedule is due, as EventBridge honours a rule's State: the
    local stack passes the State of the schedule's rule in the emulator, so `aws events
    disable-rule` stops a local schedule as it stops a deployed one."""

    def __init__(
        self,
        schedules: Iterable[Schedule],
        fire: Callable[[Schedule, Any], Any],
        stop: threading.Event,
        automatic: bool = True,
        enabled: Callable[[Schedule], bool] = enabled_in_template,
    ) -> None:
        self.schedules = {s.source.label: s for s in schedules}
        self._fire = fire
        self._stop = stop
        self._automatic = automatic
        self._enabled = enabled
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        now = dt.datetime.now(UTC)
        for schedule in self.schedules.values():
            if not self._automatic:
                continue
            try:
                schedule.next_at = next_fire(schedule.expression, now, schedule.timezone)
            except ValueError as exc:
                log.warning("%s: %s; fire it with `devstack fire`", schedule.source.label, exc)
                continue
            log.info(
                "schedule %s %s: next at %s", schedule.source.label, schedule.expression, schedule.next_at
            )
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def fire_now(self, label: str, override: Any = None) -> Any:
        return self._fire(self.schedules[label], override)

    def fire_if_enabled(self, schedule: Schedule) -> bool:
        """A due schedule fires only while enabled; True if it fired."""
        if not self._enabled(schedule):
            log.info("schedule %s is due but disabled (rule %s)", schedule.source.label, schedule.rule_name)
            return False
        try:
            self._fire(schedule, None)
        except Exception:
            log.exception("schedule %s failed", schedule.source.label)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            due = [s for s in self.schedules.values() if s.next_at is not None]
            if not due:
                self._stop.wait(1)
                continue
            upcoming = min(due, key=lambda s: s.next_at or dt.datetime.max.replace(tzinfo=UTC))
            assert upcoming.next_at is not None
            delay = (upcoming.next_at - dt.datetime.now(UTC)).total_seconds()
            if delay > 0:
                self._stop.wait(min(delay, 1.0))
                continue
            self.fire_if_enabled(upcoming)
            upcoming.next_at = next_fire(upcoming.expression, dt.datetime.now(UTC), upcoming.timezone)
