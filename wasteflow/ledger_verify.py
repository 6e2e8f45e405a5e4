"""Verify a wasteflow ledger export offline.

    python -m wasteflow.ledger_verify ledger.jsonl      (or: python ledger_verify.py ledger.jsonl)

The export is JSON Lines, one entry a line, as ``GET /v1/ledger/export`` gives it:
``{"seq", "prev_hash", "hash", "at", "recorded_at", "kind", "manifest_no", "body"}``.

Each entry's ``hash`` is the SHA-256 (lowercase hex) of the canonical JSON (keys sorted,
separators ``,`` and ``:``, UTF-8, non-ASCII characters as themselves) of ``seq``,
``prev_hash``, ``at``, ``recorded_at``, ``kind`` and ``content_sha256``: the SHA-256 of the
canonical JSON of ``{"manifest_no", "body"}``. An entry a regulator may not read (another
region's) is exported with ``content_sha256`` in place of ``manifest_no`` and ``body``, and
still verifies. ``prev_hash`` is the previous entry's ``hash``
(64 zeros for the first entry), and ``seq`` counts up from 1 without gaps. An edited,
deleted, inserted or reordered entry breaks the chain at that entry.

This file needs only the Python standard library, so a regulator can copy it out of
the package and run it anywhere. It prints ``OK <n> entries`` and exits 0, or names
the first broken entry and exits 1.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable

GENESIS_HASH = "0" * 64
HASHED_FIELDS = ("seq", "prev_hash", "at", "recorded_at", "kind")
CONTENT_FIELDS = ("manifest_no", "body")


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _sha256(value) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def content_sha256(entry: dict) -> str:
    """The digest of what an entry says (its manifest and body): given in place of them for an
    entry withheld from the reader, computed from them otherwise."""
    if "body" not in entry and "content_sha256" in entry:
        return entry["content_sha256"]
    return _sha256({name: entry.get(name) for name in CONTENT_FIELDS})


def entry_hash(entry: dict) -> str:
    """The hash an entry must carry: SHA-256 over its frame, its content's digest and its predecessor's hash."""
    return _sha256({**{name: entry.get(name) for name in HASHED_FIELDS}, "content_sha256": content_sha256(entry)})


def withheld(entry: dict) -> dict:
    """``entry`` as exported to a reader who may not read it: its content replaced by its digest."""
    shown = {name: value for name, value in entry.items() if name not in CONTENT_FIELDS}
    return {**shown, "content_sha256": content_sha256(entry)}


def verify_entries(entries: Iterable[dict]) -> tuple[bool, int, int | None, str | None]:
    """Walk the chain: (ok, entries checked, first broken seq, reason)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in entries:
        count += 1
        seq = entry.get("seq")
        broken_at = seq if isinstance(seq, int) else expected_seq
        if seq != expected_seq:
            return False, count, broken_at, (f"expected entry {expected_seq} here, found {seq!r} "
                                             "(an entry was deleted, inserted or moved)")
        if entry.get("prev_hash") != expected_prev:
            return False, count, broken_at, "prev_hash does not match the previous entry's hash"
        if entry.get("hash") != entry_hash(entry):
            return False, count, broken_at, "content does not match its hash (the entry was edited)"
        expected_prev = entry["hash"]
        expected_seq += 1
    return True, count, None, None


def _read_lines(lines: Iterable[str]):
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise SystemExit(f"line {number}: not JSON ({exc})") from None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m wasteflow.ledger_verify LEDGER.jsonl   ('-' reads standard input)")
        return 2
    stream = sys.stdin if args[0] == "-" else open(args[0], encoding="utf-8")
    with stream:
        ok, count, broken_at, reason = verify_entries(_read_lines(stream))
    if ok:
        print(f"OK {count} entries")
        return 0
    print(f"BROKEN at entry {broken_at}: {reason}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
