"""Tables of the opening hall and record: objections with answers, the signed opening record."""

from __future__ import annotations
