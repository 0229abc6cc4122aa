"""Client tools for bidders, custodians and monitors: need only ``crypto``, ``cryptography`` and ``httpx``."""
