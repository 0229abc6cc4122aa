"""Public read model of published tenders and full-text search over them (Chinese included)."""
