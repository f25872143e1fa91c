"""Builds the `rfid-post` body from pages of stored UIDs: normalise, skip invalid, de-duplicate, sort,
serialise and hash, holding little more than the body itself.

A set of Python strings costs about 110 bytes per UID (object header, hash table slot); the body
costs 17. So each UID is packed into an 11-byte record whose byte order equals the UIDs' text
order, each page is sorted into a run of records, and the runs are merged (heapq.merge, one record
per run in memory) straight into the body. Peak memory is about 2x the body plus one page.

Record: the UID's bytes left-aligned in 10 bytes, zero-padded, then its length in characters.
Hex digits sort like their nibbles and every UID has an even length, so comparing records equals
comparing the texts; a shorter UID that is a prefix of a longer one differs only in padding,
where the length byte puts it first, as text order does.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
from binascii import hexlify
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from backbone.oioi.identifiers import InvalidUid, normalise_uid
from backbone.whitelist.models import SKIPPED_SAMPLE_LIMIT, SkippedUid

_DATA = 10  # bytes of the longest UID (20 hex characters)
RECORD = _DATA + 1
MESSAGE = "rfid-post"


def _record(uid: str) -> bytes:
    return bytes.fromhex(uid).ljust(_DATA, b"\0") + bytes((len(uid),))


def _uid_bytes(record: bytes) -> bytes:
    return hexlify(record[: record[_DATA] // 2]).upper()


@dataclass(frozen=True)
class BuiltWhitelist:
    """The complete request body (`{"rfid-post": {...}}`, compact UTF-8 JSON) and its facts."""

    payload: bytes
    count: int
    sha256: str
    keys_read: int
    invalid_count: int
    duplicate_count: int
    skipped: tuple[SkippedUid, ...]
    _rfids_span: tuple[int, int] = field(repr=False)

    def uids(self) -> Iterator[str]:
        """The UIDs in order, decoded one at a time from the body (no second copy of the list)."""
        start, end = self._rfids_span
        position = start
        while position < end:
            closing = self.payload.index(b'"', position + 1)
            yield self.payload[position + 1 : closing].decode("ascii")
            position = closing + 2  # past the closing quote and the comma


class WhitelistBuilder:
    """Feed pages of raw UIDs (`add_page`), then `finish()` once."""

    def __init__(self, partner_identifier: str, *, sample_limit: int = SKIPPED_SAMPLE_LIMIT) -> None:
        self._partner_identifier = partner_identifier
        self._sample_limit = sample_limit
        self._runs = bytearray()
        self._bounds = [0]
        self.keys_read = 0
        self.invalid_count = 0
        self.duplicate_count = 0
        self.skipped: list[SkippedUid] = []

    def add_page(self, raw_uids: Iterable[str]) -> None:
        """Normalise one page, set invalid UIDs aside, and keep the rest as one sorted run."""
        records: set[bytes] = set()
        for raw in raw_uids:
            self.keys_read += 1
            try:
                uid = normalise_uid(raw)
            except InvalidUid as error:
                self.invalid_count += 1
                self._note(SkippedUid(uid=raw[:64], kind="invalid", reason=str(error)[:200]))
                continue
            record = _record(uid)
            if record in records:
                self._duplicate(uid)
            records.add(record)
        for record in sorted(records):
            self._runs += record
        if records:
            self._bounds.append(len(self._runs))

    def finish(self) -> BuiltWhitelist:
        """Merge the runs into the body, dropping duplicates across pages, and hash the list."""
        head = b'{"%s":{"rfids":[' % MESSAGE.encode()
        body = bytearray(head)
        digest = hashlib.sha256()
        count = 0
        previous = b""
        with memoryview(self._runs) as runs:
            merged = heapq.merge(*(_run(runs, start, end) for start, end in _pairs(self._bounds)))
            for record in merged:
                if record == previous:
                    self._duplicate(_uid_bytes(record).decode())
                    continue
                previous = record
                uid = _uid_bytes(record)
                if count:
                    body += b","
                    digest.update(b"\n")
                body += b'"' + uid + b'"'
                digest.update(uid)
                count += 1
        self._runs = bytearray()  # the records are in the body now: free them before the copy
        span = (len(head), len(body))
        body += b'],"partner-identifier":' + json.dumps(self._partner_identifier).encode() + b"}}"
        return BuiltWhitelist(
            payload=bytes(body),
            count=count,
            sha256=digest.hexdigest(),
            keys_read=self.keys_read,
            invalid_count=self.invalid_count,
            duplicate_count=self.duplicate_count,
            skipped=tuple(self.skipped),
            _rfids_span=span,
        )

    def _duplicate(self, uid: str) -> None:
        self.duplicate_count += 1
        self._note(
            SkippedUid(uid=uid, kind="duplicate", reason="another key has the same UID once normalised")
        )

    def _note(self, skipped: SkippedUid) -> None:
        if len(self.skipped) < self._sample_limit:
            self.skipped.append(skipped)


def build_whitelist(pages: Iterable[Iterable[str]], partner_identifier: str) -> BuiltWhitelist:
    """The body for `pages` of raw UIDs (as stored), streaming: one page in memory at a time."""
    builder = WhitelistBuilder(partner_identifier)
    for page in pages:
        builder.add_page(page)
    return builder.finish()


def _pairs(bounds: list[int]) -> Iterator[tuple[int, int]]:
    return itertools.pairwise(bounds)


def _run(runs: memoryview, start: int, end: int) -> Iterator[bytes]:
    for offset in range(start, end, RECORD):
        yield bytes(runs[offset : offset + RECORD])
