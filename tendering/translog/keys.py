"""The log's signing key: a C2SP signer key text in a file readable only by its owner.

Outside production the key is created on first use (file 0600, directory 0700). In production a
missing key is an error: a new key would silently start a different log.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from crypto.signednote import NoteError, NoteSigner, generate_signer, parse_signer_key
from tendering.errors import Unavailable
from tendering.settings import Settings


class LogKeyError(Unavailable):
    """The log's signer key is missing, unreadable or made for another origin."""

    default_code = "log-key"
    title = "Transparency log key unavailable"


def _create(path: Path, origin: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):  # a directory made earlier by someone else keeps its mode
        path.parent.chmod(0o700)
    signer_text, _ = generate_signer(origin)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first; use theirs
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(signer_text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_signer(settings: Settings) -> NoteSigner:
    """Return the log's signer, creating its key file first when allowed and absent.

    Raises :class:`LogKeyError` when the key is missing in production, malformed, or named for an
    origin other than ``settings.log_origin`` (the C2SP key name of a log is its origin).
    """
    path = settings.effective_log_signer_key_file
    if not path.exists():
        if settings.environment == "production":
            raise LogKeyError(
                f"the transparency log signer key {path} does not exist; production never creates one "
                "(generate it once, back it up, and configure log_signer_key_file)"
            )
        _create(path, settings.log_origin)
    try:
        signer = parse_signer_key(path.read_text(encoding="utf-8").strip())
    except (OSError, NoteError) as exc:
        raise LogKeyError(f"cannot use the transparency log signer key {path}: {exc}") from exc
    if signer.name != settings.log_origin:
        raise LogKeyError(
            f"the signer key {path} is for the log {signer.name!r}, "
            f"not for log_origin {settings.log_origin!r}"
        )
    return signer
