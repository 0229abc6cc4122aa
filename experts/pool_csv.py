"""CSV import and export of the expert pool, with row-level error reports.

Format (UTF-8, with or without the BOM Excel writes; the export writes one so Excel shows Chinese):
a header row with the columns of :data:`COLUMNS` (``number``, ``name``, ``specialties``, ``region``,
``employer_uscc`` and ``phones`` are required; the rest optional), then one expert per row. Lists are
``;``-separated; phone numbers keep their order (the call order). ``number`` is the stable key: a
re-import updates the expert with that number and changes nothing when the row is unchanged.

An import with any bad row imports nothing unless ``skip_invalid`` is given; either way the report
names every bad row (spreadsheet row number: the header is row 1), its column and the reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from experts.pool import ExpertFields, FieldError, current_values, parse_fields, require_pool_role, upsert
from experts.pool_models import Expert
from tendering.errors import InvalidInput
from tendering.identity.audit import Actor
from tendering.platform import Platform

COLUMNS: Final = (
    "number",
    "name",
    "specialties",
    "region",
    "employer_uscc",
    "employer_name",
    "title",
    "phones",
    "status",
    "unavailable",
    "certificate_sha256",
)
REQUIRED: Final = frozenset({"number", "name", "specialties", "region", "employer_uscc", "phones"})


@dataclass(frozen=True)
class RowError:
    """A refused row: its spreadsheet row number, the column and why."""

    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    """What an import did (or would have done) and every error found."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    imported: bool = False
    errors: list[RowError] = field(default_factory=list)

    def document(self) -> dict[str, object]:
        """The report as JSON."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "imported": self.imported,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
        }


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the file is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' in Excel",
            code="expert-csv-encoding",
        ) from None


def parse_csv(data: bytes, *, max_rows: int) -> tuple[list[tuple[int, ExpertFields]], list[RowError], int]:
    """Parse and validate every row; returns the good rows with their numbers, the errors, the row count."""
    reader = csv.DictReader(io.StringIO(_decode(data), newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    errors: list[RowError] = []
    missing = sorted(REQUIRED - set(header))
    unknown = [name for name in header if name not in COLUMNS]
    if missing:
        errors.append(RowError(1, ",".join(missing), "required column(s) missing"))
    if unknown:
        errors.append(
            RowError(1, ",".join(unknown), f"unknown column(s); the columns are {', '.join(COLUMNS)}")
        )
    if errors:
        return [], errors, 0
    good: list[tuple[int, ExpertFields]] = []
    seen: dict[str, int] = {}
    count = 0
    for count, row in enumerate(reader, start=1):
        line = count + 1
        if count > max_rows:
            errors.append(RowError(line, "", f"more than {max_rows} rows; split the file"))
            break
        if None in row:
            errors.append(RowError(line, "", "more fields than the header has columns"))
            continue
        parsed = parse_fields({key: value or "" for key, value in row.items()})
        if isinstance(parsed, list):
            errors.extend(RowError(line, e.column, e.reason) for e in parsed)
            continue
        if parsed.number in seen:
            errors.append(RowError(line, "number", f"{parsed.number} already on row {seen[parsed.number]}"))
            continue
        seen[parsed.number] = line
        good.append((line, parsed))
    return good, errors, count


def import_csv(platform: Platform, data: bytes, *, actor: Actor, skip_invalid: bool = False) -> ImportReport:
    """Import a pool file in one transaction (nothing when a row is bad, unless ``skip_invalid``)."""
    require_pool_role(actor)
    good, errors, count = parse_csv(data, max_rows=platform.settings.experts.csv_max_rows)
    report = ImportReport(rows=count, errors=errors)
    if errors and not skip_invalid:
        return report
    report.skipped = len({e.row for e in errors if e.row > 1})
    with platform.transaction() as session:
        for _, fields in good:
            _, changed, created = upsert(session, platform, fields, actor=actor)
            if not changed:
                report.unchanged += 1
            elif created:
                report.created += 1
            else:
                report.updated += 1
    report.imported = True
    return report


def _cell(value: object) -> str:
    if isinstance(value, tuple):
        return ";".join(
            f"{v[0].isoformat()}..{v[1].isoformat()}" if isinstance(v, tuple) else str(v) for v in value
        )
    return "" if value is None else str(value)


def export_rows(session: Session) -> Iterator[list[str]]:
    """The header, then every expert (by number) in the import format."""
    yield list(COLUMNS)
    experts = session.scalars(
        select(Expert).options(selectinload(Expert.unavailable)).order_by(Expert.number)
    )
    for expert in experts:
        values = current_values(expert)
        values["certificate_sha256"] = values.pop("certificate_fingerprint")
        yield [expert.number, *(_cell(values[name]) for name in COLUMNS[1:])]


def export_csv(session: Session, *, actor: Actor) -> bytes:
    """The whole pool as a UTF-8 CSV with a BOM (Excel opens it with the Chinese intact)."""
    require_pool_role(actor)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in export_rows(session):
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


__all__ = ["COLUMNS", "FieldError", "ImportReport", "RowError", "export_csv", "import_csv", "parse_csv"]
