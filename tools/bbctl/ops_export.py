"""`bbctl cdr export`: the daily billing export of a range of days, written to a folder by the
very code BillingExportFunction runs (`backbone.billing.export`), so a day's CSV here has the
same bytes as the bucket's (docs/billing-feed.md, "Export"). Not shipped in the Lambda layer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from backbone.aws.errors import is_condition_failed
from backbone.aws.pages import items
from backbone.billing.export import EXPORT_PREFIX, write_day
from backbone.billing.models import BillingRecord, DayExport, ExportFile, ExportFormat
from backbone.billing.ports import BillingDays, ExportDependencies
from backbone.cdr.models import BILLING_DAY, CdrStatus, billing_day
from backbone.timeutil import from_storage
from bbctl.progress import Progress

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class FolderSink:
    """The bucket's layout under a folder: `<out>/day=YYYY-MM-DD/partner=<id>/cdrs.csv`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.written: list[Path] = []

    def put(self, file: ExportFile) -> None:
        path = self.out / file.key.removeprefix(f"{EXPORT_PREFIX}/")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(file.body)
        partial.replace(path)  # a file that is there is whole
        self.written.append(path)


@dataclass
class PartnerOnly:
    """One partner's records of a day (`--partner`); the manifest then covers that partner only."""

    records_of: BillingDays
    partner_id: str | None

    def records(self, day: date) -> Iterator[BillingRecord]:
        for record in self.records_of.records(day):
            if self.partner_id is None or record.partner_id == self.partner_id:
                yield record


@dataclass
class Counted:
    """Records as they are read, counted on stderr."""

    records_of: BillingDays
    progress: Progress

    def records(self, day: date) -> Iterable[BillingRecord]:
        return self.progress.iterate(self.records_of.records(day))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def export_range(
    records: BillingDays,
    out: Path,
    first: date,
    last: date,
    *,
    partner_id: str | None = None,
    fmt: ExportFormat = "csv",
) -> tuple[list[DayExport], FolderSink]:
    sink = FolderSink(out)
    with Progress("CDRs exported") as progress:
        deps = ExportDependencies(Counted(PartnerOnly(records, partner_id), progress), sink)
        exports = [write_day(deps, day, fmt) for day in days(first, last)]
    return exports, sink


@dataclass(frozen=True)
class BillingDayBackfill:
    examined: int
    set: int


def backfill_billing_days(client: DynamoDBClient, table: str, *, dry_run: bool = False) -> BillingDayBackfill:
    """Give `billingDay` to FINAL records stored before ingestion set it (the ByBillingDay index
    holds only items with it). One conditional UpdateItem per record: only `billingDay` is set, so
    the stream MODIFY changes no status, kind, payload hash or review state and is no billing
    event; a record that has it already, or is not final, is left alone. Re-running sets 0."""
    examined = changed = 0
    found = items(
        client.scan,
        TableName=table,
        ProjectionExpression="pk, sk, #status, receivedAt",
        FilterExpression="#status = :final AND attribute_not_exists(#day)",
        ExpressionAttributeNames={"#status": "status", "#day": BILLING_DAY},
        ExpressionAttributeValues={":final": {"S": CdrStatus.FINAL.value}},
    )
    with Progress("records given a billing day") as progress:
        for item in found:
            examined += 1
            if dry_run:
                continue
            day = billing_day(from_storage(item["receivedAt"]["S"]))
            try:
                client.update_item(
                    TableName=table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET #day = :day",
                    ConditionExpression=(
                        "#status = :final AND attribute_not_exists(#day) AND receivedAt = :at"
                    ),
                    ExpressionAttributeNames={"#status": "status", "#day": BILLING_DAY},
                    ExpressionAttributeValues={
                        ":final": {"S": CdrStatus.FINAL.value},
                        ":day": {"S": day},
                        ":at": item["receivedAt"],
                    },
                )
            except ClientError as error:
                if not is_condition_failed(error):
                    raise
                continue  # replaced or given its day meanwhile
            changed += 1
            progress.advance()
    return BillingDayBackfill(examined, changed)
