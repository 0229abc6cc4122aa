"""Tables for submitted bids: versions, upload sessions, receipts and submission metadata."""

from __future__ import annotations
