"""Tables of the call and SMS confirmations of drawn experts and the provider webhooks."""

from __future__ import annotations
