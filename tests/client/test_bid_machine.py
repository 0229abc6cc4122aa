"""The machine code: salted, deterministic, built from stable identifiers only."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from api.client.machine import (
    MACHINE_CODE_DOMAIN,
    MachineIdentifiers,
    machine_code,
    machine_code_from,
    machine_identifiers,
)


def _fake_root(tmp_path: Path, *, mac: str = "52:54:00:12:34:56", serial: str = "WD-123") -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/machine-id").write_text("3D1219C7C4C5404AAA1F6D2A48ADFDA4\n")
    (root / "proc").mkdir()
    (root / "proc/cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)  Gold 6230\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6230\n"
    )
    for name, address, physical in (
        ("eth0", mac, True),
        ("lo", "00:00:00:00:00:00", False),
        ("docker0", "02:42:ac:11:00:02", False),
        ("wlan0", "00:00:00:00:00:00", True),
    ):
        interface = root / "sys/class/net" / name
        interface.mkdir(parents=True)
        (interface / "address").write_text(address + "\n")
        if physical:
            (interface / "device").mkdir()
    for name, path, value in (
        ("sda", "device/serial", serial),
        ("nvme0n1", "serial", "  S4EWNX0N  \n"),
        ("loop0", "serial", "ignored-loop"),
        ("dm-0", "serial", "ignored-dm"),
    ):
        target = root / "sys/block" / name / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value)
    return root


def test_identifiers_keep_only_stable_hardware(tmp_path: Path) -> None:
    found = machine_identifiers(_fake_root(tmp_path))
    assert found == MachineIdentifiers(
        machine_ids=("3d1219c7c4c5404aaa1f6d2a48adfda4",),
        macs=("52:54:00:12:34:56",),
        cpu_models=("Intel(R) Xeon(R) Gold 6230",),
        disk_serials=("S4EWNX0N", "WD-123"),
    )


def test_code_is_salted_sha256_of_length_prefixed_lines(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    items = [
        MACHINE_CODE_DOMAIN,
        "T-2026-0001",
        "cpu=Intel(R) Xeon(R) Gold 6230",
        "disk=S4EWNX0N",
        "disk=WD-123",
        "mac=52:54:00:12:34:56",
        "machine-id=3d1219c7c4c5404aaa1f6d2a48adfda4",
    ]
    payload = b"".join(len(i.encode()).to_bytes(4, "big") + i.encode() for i in items)
    assert machine_code("T-2026-0001", root=root) == hashlib.sha256(payload).hexdigest()


def test_same_machine_same_tender_same_code_other_tender_unlinkable(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    first = machine_code("T-1", root=root)
    assert first == machine_code("T-1", root=root)
    assert first != machine_code("T-2", root=root)
    assert re.fullmatch(r"[0-9a-f]{64}", first)


def test_another_machine_gets_another_code(tmp_path: Path) -> None:
    one = machine_code("T-1", root=_fake_root(tmp_path / "a"))
    other_nic = machine_code("T-1", root=_fake_root(tmp_path / "b", mac="52:54:00:99:99:99"))
    other_disk = machine_code("T-1", root=_fake_root(tmp_path / "c", serial="WD-999"))
    assert len({one, other_nic, other_disk}) == 3


def test_missing_identifiers_are_left_out_not_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert machine_identifiers(empty) == MachineIdentifiers((), (), (), ())
    assert machine_code("T-1", root=empty) == machine_code_from(MachineIdentifiers((), (), (), ()), "T-1")


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    serial = root / "sys/block/sda/device/serial"
    serial.chmod(0)
    try:
        found = machine_identifiers(root)
    finally:
        serial.chmod(0o644)
    if os.geteuid() != 0:
        assert found.disk_serials == ("S4EWNX0N",)


def test_this_machine_is_deterministic() -> None:
    assert machine_code("T-1") == machine_code("T-1")
    assert machine_identifiers().lines()  # some identifier is always readable in CI
