"""Dramatiq tasks of the expert confirmation (voice call, SMS), registered on import."""

from __future__ import annotations
