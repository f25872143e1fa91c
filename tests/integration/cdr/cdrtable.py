"""CdrTable as the tests read it: the Lambdas' writes (`DynamoCdrStore`), the operators' reads
(`bbctl.ops_cdr.CdrRecords`), and any index by its key, so the tests show that every access
pattern of docs/cdr-ingestion.md finds what ingestion wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.aws.pages import items
from backbone.cdr.aws import DynamoCdrStore
from backbone.cdr.models import INDEXES, StoredCdr
from backbone.timeutil import to_storage
from bbctl.ops_cdr import CdrRecords


class CdrTable(DynamoCdrStore, CdrRecords):
    def by_index(
        self, index: str, value: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[StoredCdr]:
        """Items whose index hash key is `value` and range key (a storage time) lies in
        [start, end], both ends optional and inclusive."""
        hash_name, range_name = INDEXES[index]
        condition, values = "#h = :h", {":h": {"S": value}}
        if start is not None:
            condition += " AND #r >= :start" if end is None else " AND #r BETWEEN :start AND :end"
            values[":start"] = {"S": to_storage(start)}
        elif end is not None:
            condition += " AND #r <= :end"
        if end is not None:
            values[":end"] = {"S": to_storage(end)}
        names = {"#h": hash_name} | ({"#r": range_name} if "#r" in condition else {})
        arguments: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        # Indexes project keys (and what their queries read): the records come from the table.
        return self._by_keys(items(self.client.query, TableName=self.table, **arguments))
