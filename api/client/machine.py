"""The bidder machine's code: a salted SHA-256 of stable hardware identifiers.

Monitors compare the machine codes of the bids of one tender: two "independent" bidders that
prepared their bids on the same computer are a classic sign of collusion (bid rigging). The code is
salted with the tender id, so one machine gives the same code for every bidder of a tender while
codes of different tenders cannot be linked to each other or to the hardware.

Identifiers (all readable without root; any that is missing is simply left out):

- ``machine-id``: ``/etc/machine-id`` or ``/var/lib/dbus/machine-id`` (Linux), the ``MachineGuid``
  registry value (Windows), ``IOPlatformUUID`` (macOS, from ``ioreg``);
- ``mac``: the MAC address of every interface backed by a device (``/sys/class/net/*/device``;
  virtual bridges, tunnels and loopback are skipped); elsewhere the address :func:`uuid.getnode`
  reports when it is a real one (not the random multicast fallback);
- ``cpu``: the processor model (``/proc/cpuinfo`` "model name", else :func:`platform.processor`);
- ``disk``: the serial number of each whole disk in ``/sys/block`` (``serial``, ``device/serial``
  or ``device/wwid``; loop, RAM, zram, device-mapper, md and optical devices are skipped).

The code is ``SHA-256("sealbid.machine-code.v1" || salt || identifiers)`` in lowercase hex, where each
item is length-prefixed (4-byte big-endian length, UTF-8 bytes) and the identifiers are sorted
``kind=value`` lines, so the result does not depend on the order the system lists devices in.
"""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MACHINE_CODE_DOMAIN = "sealbid.machine-code.v1"
_SKIPPED_DISK_PREFIXES = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class MachineIdentifiers:
    """The hardware identifiers found on this machine (each tuple sorted, empty when unreadable)."""

    machine_ids: tuple[str, ...]
    macs: tuple[str, ...]
    cpu_models: tuple[str, ...]
    disk_serials: tuple[str, ...]

    def lines(self) -> list[str]:
        """The identifiers as sorted ``kind=value`` lines (the hashed form)."""
        items = (
            [f"machine-id={v}" for v in self.machine_ids]
            + [f"mac={v}" for v in self.macs]
            + [f"cpu={v}" for v in self.cpu_models]
            + [f"disk={v}" for v in self.disk_serials]
        )
        return sorted(set(items))


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    value = " ".join(text.replace("\x00", " ").split())
    return value or None


def _machine_ids(root: Path) -> list[str]:
    for candidate in ("etc/machine-id", "var/lib/dbus/machine-id"):
        value = _read(root / candidate)
        if value:
            return [value.lower()]
    if root != Path("/"):
        return []
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _windows_machine_guid()
    if sys.platform == "darwin":  # pragma: no cover - exercised on macOS only
        return _macos_platform_uuid()
    return []


def _windows_machine_guid() -> list[str]:  # pragma: no cover - Windows only
    try:
        import winreg  # type: ignore[import-not-found,unused-ignore]

        key = winreg.OpenKey(  # type: ignore[attr-defined,unused-ignore]
            winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined,unused-ignore]
            r"SOFTWARE\Microsoft\Cryptography",
        )
        value, _ = winreg.QueryValueEx(key, "MachineGuid")  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        return []
    return [str(value).lower()]


def _macos_platform_uuid() -> list[str]:  # pragma: no cover - macOS only
    try:
        output = subprocess.run(
            ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    match = re.search(r'"IOPlatformUUID"\s*=\s*"([^"]+)"', output)
    return [match.group(1).lower()] if match else []


def _macs(root: Path) -> list[str]:
    net = root / "sys/class/net"
    found: list[str] = []
    try:
        interfaces = sorted(net.iterdir())
    except OSError:
        interfaces = []
    for interface in interfaces:
        if not (interface / "device").exists():
            continue
        address = (_read(interface / "address") or "").lower()
        if _MAC.match(address) and address != "00:00:00:00:00:00":
            found.append(address)
    if found or root != Path("/") or sys.platform.startswith("linux"):
        return found
    node = uuid.getnode()  # pragma: no cover - non-Linux fallback
    if node >> 40 & 0x01:  # pragma: no cover - multicast bit: a random stand-in, not hardware
        return []
    return [":".join(f"{node >> shift & 0xFF:02x}" for shift in range(40, -1, -8))]  # pragma: no cover


def _cpu_models(root: Path) -> list[str]:
    cpuinfo = _read_lines(root / "proc/cpuinfo")
    models = {
        " ".join(line.split(":", 1)[1].split())
        for line in cpuinfo
        if ":" in line and line.split(":", 1)[0].strip() in ("model name", "Hardware", "cpu model")
    }
    models.discard("")
    if models:
        return sorted(models)
    if root == Path("/"):
        name = platform.processor().strip()
        return [name] if name else []
    return []


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _disk_serials(root: Path) -> list[str]:
    block = root / "sys/block"
    try:
        disks = sorted(block.iterdir())
    except OSError:
        return []
    serials: list[str] = []
    for disk in disks:
        if disk.name.startswith(_SKIPPED_DISK_PREFIXES):
            continue
        for candidate in ("serial", "device/serial", "device/wwid"):
            value = _read(disk / candidate)
            if value:
                serials.append(value)
                break
    return serials


def machine_identifiers(root: Path = Path("/")) -> MachineIdentifiers:
    """Read this machine's hardware identifiers (``root`` lets tests point at a fake file system)."""
    return MachineIdentifiers(
        machine_ids=tuple(sorted(set(_machine_ids(root)))),
        macs=tuple(sorted(set(_macs(root)))),
        cpu_models=tuple(sorted(set(_cpu_models(root)))),
        disk_serials=tuple(sorted(set(_disk_serials(root)))),
    )


def _length_prefixed(items: Iterable[str]) -> bytes:
    out = bytearray()
    for item in items:
        data = item.encode("utf-8")
        out += len(data).to_bytes(4, "big") + data
    return bytes(out)


def machine_code_from(identifiers: MachineIdentifiers, salt: str) -> str:
    """The salted code of the given identifiers (lowercase hex SHA-256)."""
    payload = _length_prefixed([MACHINE_CODE_DOMAIN, salt, *identifiers.lines()])
    return hashlib.sha256(payload).hexdigest()


def machine_code(salt: str, *, root: Path = Path("/")) -> str:
    """This machine's code for one tender: pass the tender id as ``salt``.

    Deterministic on one machine; equal for all bidders of one tender working on the same machine;
    unlinkable across tenders. Returns a 64-character lowercase hex string.
    """
    return machine_code_from(machine_identifiers(root), salt)
