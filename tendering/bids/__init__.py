"""Sealed bids: the tender's opening key (from the custodians' ceremony), submissions and receipts."""
