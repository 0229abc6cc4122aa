"""sealbid test suite."""
