"""The run journal: finished files' results in SQLite beside the output, so a rerun resumes.

A nightly run over thousands of files can be killed at any moment (Ctrl-C, SIGTERM, kill -9, a reboot).
Each file's results are committed to the journal once all its pages are classified, keyed by the file's
identity (name, size, mtime, content sha256) and the run's settings (options that change results, model
sha256, digitscan version). Rerunning the same command skips every file whose key is present, so the
output equals that of an uninterrupted run, and a rerun over a folder with new files reads only those.
SQLite in WAL mode with synchronous=FULL keeps every commit through a crash.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from digitscan.discover import InputFile
from digitscan.errors import OutputNotWritableError
from digitscan.results import DigitResult, Failure, FileResult, NumberResult, PageAlignment, PageResult
from digitscan.segment import Box, Field

SCHEMA_VERSION = 2  # 2: pages keep their skew confidence, fields and template alignment; numbers their field


def journal_path(out: Path) -> Path:
    """Where the journal of output ``out`` lives: a hidden file beside it."""
    return out.with_name(f".{out.name}.journal.sqlite")


def file_key(input_file: InputFile, run_key: str) -> str:
    """Identity of one input under one run's settings; content is hashed, so a rewritten file is new."""
    digest = hashlib.sha256()
    try:
        stat = input_file.path.stat()
        with input_file.path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        identity = f"{stat.st_size}:{stat.st_mtime_ns}:{digest.hexdigest()}"
    except OSError as exc:  # unreadable now: key on the error, so a later readable file is new
        identity = f"unreadable:{exc.errno}"
    return hashlib.sha256(f"{run_key}\0{input_file.name}\0{identity}".encode()).hexdigest()


def run_key(settings: dict[str, Any]) -> str:
    """Hash of everything that changes results (never device or batch size)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def _box(digit: DigitResult) -> list[Any]:
    return [digit.box.x, digit.box.y, digit.box.w, digit.box.h, digit.needs_review]


def _field(number: NumberResult) -> dict[str, Any]:
    """A template field's name, validity and box (nothing for a number found without a template)."""
    if number.field is None:
        return {}
    region = None if number.region is None else [number.region.x, number.region.y, number.region.w, number.region.h]
    return {"field": number.field, "valid": number.valid, "region": region}


def _box_list(box: Box) -> list[int]:
    return [box.x, box.y, box.w, box.h]


def _encode(result: FileResult, failures: list[Failure]) -> str:
    pages = [
        {
            "page": p.page,
            "width": p.width,
            "height": p.height,
            "skew_deg": p.skew_deg,
            "alignment": None if p.alignment is None else asdict(p.alignment),
            "skew_confidence": p.skew_confidence,
            "fields": [[_box_list(f.box), [_box_list(c) for c in f.cells]] for f in p.fields],
            "numbers": [
                {
                    "index": n.index,
                    "digits": [
                        [d.position, d.digit, d.confidence, d.second_digit, d.second_confidence, *_box(d)]
                        for d in n.digits
                    ],
                    **_field(n),
                    **({"printed": [d.printed for d in n.digits]} if any(d.printed for d in n.digits) else {}),
                }
                for n in p.numbers
            ],
        }
        for p in result.pages
    ]
    fails = [[f.page, f.stage, f.error_type, f.message] for f in failures]
    return json.dumps({"kind": result.kind, "pages": pages, "failures": fails})


def _decode(name: str, text: str) -> tuple[FileResult, list[Failure]]:
    data = json.loads(text)
    pages = tuple(
        PageResult(
            p["page"],
            p["width"],
            p["height"],
            p["skew_deg"],
            tuple(
                NumberResult(
                    n["index"],
                    tuple(
                        DigitResult(pos, digit, conf, second, second_conf, Box(x, y, w, h), review, printed=printed)
                        for (pos, digit, conf, second, second_conf, x, y, w, h, review), printed in zip(
                            n["digits"], n.get("printed", [False] * len(n["digits"])), strict=True
                        )
                    ),
                    n.get("field"),
                    n.get("valid"),
                    None if n.get("region") is None else Box(*n["region"]),
                )
                for n in p["numbers"]
            ),
            None if p.get("alignment") is None else PageAlignment(**p["alignment"]),
            p.get("skew_confidence", 0.0),
            tuple(Field(Box(*box), tuple(Box(*c) for c in cells)) for box, cells in p.get("fields", [])),
        )
        for p in data["pages"]
    )
    failures = [Failure(name, page, stage, kind, message) for page, stage, kind, message in data["failures"]]
    return FileResult(name, data["kind"], pages), failures


@dataclass
class RunJournal:
    """Finished files of runs that write to one output."""

    path: Path
    _db: sqlite3.Connection

    @classmethod
    def open(cls, path: Path, fresh: bool = False) -> RunJournal:
        """Open (or create) the journal at ``path``; ``fresh`` forgets every file recorded before."""
        try:
            db = sqlite3.connect(path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS files (key TEXT PRIMARY KEY, name TEXT, result TEXT)")
            version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if fresh or (version is not None and int(version[0]) != SCHEMA_VERSION):
                db.execute("DELETE FROM files")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.Error as exc:
            raise OutputNotWritableError(f"cannot use the run journal {path}: {exc}") from exc
        return cls(path, db)

    def lookup(self, key: str, name: str) -> tuple[FileResult, list[Failure]] | None:
        """The recorded results of a finished file, or None."""
        row = self._db.execute("SELECT result FROM files WHERE key = ?", (key,)).fetchone()
        return None if row is None else _decode(name, row[0])

    def record(self, entries: list[tuple[str, FileResult, list[Failure]]]) -> None:
        """Commit finished files in one transaction."""
        if not entries:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?)",
                [(key, result.file, _encode(result, failures)) for key, result, failures in entries],
            )

    def close(self) -> None:
        """Close the database."""
        self._db.close()
