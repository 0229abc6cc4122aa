"""Tables of the expert pool, extraction requests, verifiable draws and the sealed drawn lists."""

from __future__ import annotations
