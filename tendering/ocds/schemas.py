"""Offline validation against the OCDS 1.1 JSON schemas in ``shared/data/ocds-1.1``.

The package schemas refer to ``release-schema.json`` (and the versioned release schema) by their
canonical ``https://standard.open-contracting.org/schema/1__1__5/...`` ids. Every local schema file is
registered under its own ``id`` in a :class:`referencing.Registry`, so validation never touches the
network. The schemas are JSON Schema Draft 4.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

#: The shared data directory holding the OCDS 1.1 schemas (next to the project checkout).
SCHEMA_DIR: Final[Path] = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ocds-1.1"
SCHEMA_FILES: Final[dict[str, str]] = {
    "release": "release-schema.json",
    "release-package": "release-package-schema.json",
    "record-package": "record-package-schema.json",
    "versioned-release": "versioned-release-validation-schema.json",
}
SchemaName = Literal["release", "release-package", "record-package"]


@dataclass(frozen=True)
class SchemaVerdict:
    """The outcome of validating a document: ``ok`` and, if not, readable reasons."""

    ok: bool
    errors: tuple[str, ...] = ()


def _load(name: str, schema_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((schema_dir / SCHEMA_FILES[name]).read_text(encoding="utf-8"))
    return document


@cache
def _registry(schema_dir: Path) -> Registry[Any]:
    resources = []
    for name in SCHEMA_FILES:
        document = _load(name, schema_dir)
        resources.append((document["id"], Resource.from_contents(document, default_specification=DRAFT4)))
    return Registry().with_resources(resources)


@cache
def validator(name: SchemaName, schema_dir: Path = SCHEMA_DIR) -> Draft4Validator:
    """A Draft 4 validator for one OCDS schema, resolving references only from local files."""
    return Draft4Validator(
        _load(name, schema_dir), registry=_registry(schema_dir), format_checker=FormatChecker()
    )


def validate(document: Any, name: SchemaName, schema_dir: Path = SCHEMA_DIR) -> SchemaVerdict:
    """Validate ``document`` against the named OCDS schema; the verdict lists every error with its path."""
    errors = sorted(
        validator(name, schema_dir).iter_errors(document), key=lambda error: list(error.absolute_path)
    )
    reasons = tuple(
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in errors
    )
    return SchemaVerdict(ok=not reasons, errors=reasons)
