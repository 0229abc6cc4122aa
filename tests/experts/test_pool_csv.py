"""CSV import and export: row-level errors, all-or-nothing, --skip-invalid, idempotence, BOM."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner
from sqlalchemy import func, select

from api.cli import main
from experts.pool_csv import COLUMNS, export_csv, import_csv
from experts.pool_models import Expert, ExpertAudit
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.settings import Settings
from tests.experts.pool_helpers import employer_uscc

ADMIN = Actor(None, "console")
HEADER = "number,name,specialties,region,employer_uscc,employer_name,title,phones,status,unavailable\n"


def row(n: int, **overrides: str) -> str:
    values = {
        "number": f"E{n:03d}",
        "name": f"专家{n}",
        "specialties": "A0101",
        "region": "350102",
        "employer_uscc": employer_uscc(n),
        "employer_name": f"单位{n}",
        "title": "高级工程师",
        "phones": f"1380013{n:04d}",
        "status": "active",
        "unavailable": "",
    }
    values.update(overrides)
    return ",".join(values[c] for c in COLUMNS if c != "certificate_sha256") + "\n"


def count(platform: Platform) -> int:
    with platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Expert)) or 0


def test_a_file_with_bad_rows_imports_nothing_and_names_each_error(platform: Platform) -> None:
    data = (
        HEADER + row(1) + row(2, phones="12") + row(3) + row(4, region="x", specialties="Q1") + row(1)
    ).encode()
    report = import_csv(platform, data, actor=ADMIN)
    assert not report.imported
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "phones"),
        (5, "specialties"),
        (5, "region"),
        (6, "number"),
    ]
    assert count(platform) == 0


def test_skip_invalid_imports_the_good_rows(platform: Platform) -> None:
    data = (HEADER + row(1) + row(2, status="sleeping") + row(3)).encode()
    report = import_csv(platform, data, actor=ADMIN, skip_invalid=True)
    assert report.imported
    assert (report.created, report.skipped, [e.row for e in report.errors]) == (2, 1, [3])
    assert count(platform) == 2


def test_re_import_is_idempotent_and_updates_by_number(platform: Platform) -> None:
    data = (HEADER + row(1) + row(2)).encode("utf-8-sig")  # with the BOM Excel writes
    first = import_csv(platform, data, actor=ADMIN)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = import_csv(platform, data, actor=ADMIN)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = import_csv(platform, (HEADER + row(1, title="教授") + row(2)).encode(), actor=ADMIN)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ExpertAudit)) == 3


def test_header_problems_are_row_one(platform: Platform) -> None:
    report = import_csv(platform, b"number,name,colour\nE1,x,red\n", actor=ADMIN)
    assert [(e.row, e.column) for e in report.errors] == [
        (1, "employer_uscc,phones,region,specialties"),
        (1, "colour"),
    ]


def test_non_utf8_is_refused_with_advice(platform: Platform) -> None:
    from tendering.errors import InvalidInput

    try:
        import_csv(platform, (HEADER + row(1)).encode("gb18030"), actor=ADMIN)
    except InvalidInput as exc:
        assert exc.code == "expert-csv-encoding"
        assert "UTF-8" in exc.detail
    else:
        raise AssertionError("GB18030 bytes were accepted")


def test_export_round_trips_through_import(platform: Platform) -> None:
    import_csv(
        platform, (HEADER + row(1, unavailable="2026-12-01..2026-12-02") + row(2)).encode(), actor=ADMIN
    )
    with platform.session_factory() as session:
        exported = export_csv(session, actor=ADMIN)
    assert exported.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == ["E001", "E002"]
    assert rows[0]["phones"] == "+8613800130001"
    assert rows[0]["unavailable"] == "2026-12-01..2026-12-02"
    report = import_csv(platform, exported, actor=ADMIN)
    assert (report.imported, report.unchanged) == (True, 2)


def test_the_cli_imports_reports_and_exports(
    settings: Settings, platform: Platform, tmp_path: object
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    good, bad = folder / "good.csv", folder / "bad.csv"
    good.write_bytes((HEADER + row(1) + row(2)).encode("utf-8-sig"))
    bad.write_bytes((HEADER + row(3, phones="1")).encode())
    runner = CliRunner()
    env = {
        "SEALBID_DATABASE_URL": settings.effective_database_url,
        "SEALBID_DATA_DIR": str(settings.data_dir),
    }
    refused = runner.invoke(main, ["experts", "import", str(bad)], env=env)
    assert refused.exit_code == 2
    assert "row 2 [phones]" in refused.output
    done = runner.invoke(main, ["experts", "import", str(good)], env=env)
    assert done.exit_code == 0, done.output
    assert "2 created" in done.output
    out = folder / "out.csv"
    exported = runner.invoke(main, ["experts", "export", "-o", str(out)], env=env)
    assert exported.exit_code == 0
    assert out.read_bytes().decode("utf-8-sig").count("\n") == 3
