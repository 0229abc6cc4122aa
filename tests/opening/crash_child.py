"""The server process of the real crash test (``tests/opening/test_crash_kill.py``), run as a subprocess.

It reads one JSON job line on stdin: the settings of the test's platform (file SQLite or PostgreSQL,
filesystem blob store), the manual clock's time, where the test PKI was saved, the custodians'
signed releases (share documents included: they travel over the pipe, never through the disk), and
where to stop. It then does what the application process does: records the releases, holds the
shares in memory and opens the envelopes. At the stopping point it prints ``STOPPED`` on stdout and
blocks until the test kills it with SIGKILL, so the kill lands at a known point without any sleep:

* ``between``: right after the ``after``-th envelope's outcome is committed;
* ``inside``: inside envelope ``after + 1``, after ``open_bid`` returned (the package is decrypted
  into the scratch directory) and before its outcome is recorded;
* ``decrypting``: no opening; a bidder's layer key (``decrypt``: bidder, statement, signature, key)
  is checked and the process stops after the decrypted package was checked, before the outcome is
  recorded.

If the opening finishes without reaching the stopping point it prints ``FINISHED`` and exits 0.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import uuid
from datetime import datetime
from typing import Any

STOPPED = "STOPPED"
FINISHED = "FINISHED"


def _stop() -> None:
    sys.stdout.write(STOPPED + "\n")
    sys.stdout.flush()
    threading.Event().wait()  # until SIGKILL


def _install_hook(kind: str, after: int) -> None:
    from tendering.opening import opener

    decided = [0]
    if kind == "between":
        real_record = opener.record

        def record(platform: Any, row_id: uuid.UUID, fields: dict[str, Any]) -> bool:
            changed = real_record(platform, row_id, fields)
            if changed and fields.get("outcome") is not None:
                decided[0] += 1
                if decided[0] == after:
                    _stop()
            return changed

        opener.record = record  # type: ignore[assignment]
    elif kind == "inside":
        real_open_bid = opener.open_bid

        def open_bid(*args: Any, **kwargs: Any) -> Any:
            verdict = real_open_bid(*args, **kwargs)
            decided[0] += 1
            if decided[0] == after + 1:
                _stop()
            return verdict

        opener.open_bid = open_bid  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown stopping point {kind!r}")


def _decrypt_until_killed(platform: Any, tender_id: uuid.UUID, sent: dict[str, str]) -> None:
    """A bidder's layer key arrives; stop inside its decryption, after the package was checked."""
    from tendering.opening import decryption

    real_record_verdict = decryption.record_verdict

    def record_verdict(*args: Any, **kwargs: Any) -> Any:
        fields = real_record_verdict(*args, **kwargs)
        _stop()
        return fields

    decryption.record_verdict = record_verdict  # type: ignore[assignment]
    decryption.decrypt_layer(
        platform,
        tender_id,
        bidder_id=uuid.UUID(sent["bidder"]),
        statement=base64.b64decode(sent["statement"]),
        signature=base64.b64decode(sent["signature"]),
        cek=base64.b64decode(sent["cek"]),
    )


def main() -> None:
    """Run the job read from stdin (see the module docstring)."""
    from crypto.pki import BuiltPki
    from tendering.clock import ManualClock
    from tendering.identity.audit import Actor
    from tendering.opening.opener import open_envelopes
    from tendering.opening.releases import release_share
    from tendering.platform import build_platform
    from tendering.settings import load_settings

    job = json.loads(sys.stdin.readline())
    settings = load_settings(None, **job["settings"])
    platform = build_platform(settings, clock=ManualClock(datetime.fromisoformat(job["now"])))
    platform.certificates.use_dev_pki(BuiltPki.load(job["pki"], job["pki_password"].encode()))
    tender_id = uuid.UUID(job["tender"])
    for item in job["releases"]:
        release_share(
            platform,
            tender_id,
            statement=base64.b64decode(item["statement"]),
            signature=base64.b64decode(item["signature"]),
            share_document=base64.b64decode(item["share"]),
            actor=Actor(uuid.UUID(item["custodian"]), "custodian", item["address"]),
        )
    if job["stop"] == "decrypting":
        _decrypt_until_killed(platform, tender_id, job["decrypt"])
    else:
        _install_hook(job["stop"], int(job["after"]))
        open_envelopes(platform, tender_id)
    sys.stdout.write(FINISHED + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
