"""Every RFC 6962 / RFC 9162 verifier vector of transparency-dev/merkle (shared/data/merkle-vectors).

A file with ``wantErr: false`` must verify; one with ``wantErr: true`` must be rejected, either by a
verdict that is not ok or by :class:`MerkleError` (malformed input such as a hash of the wrong length).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from crypto.merkle import MerkleError, ProofVerdict, verify_consistency, verify_inclusion

VECTORS = Path(__file__).resolve().parents[2].parent / "shared/data/merkle-vectors"


def _files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json")) if VECTORS.is_dir() else []


def _id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(data: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in data["proof"] or []]


def _outcome(check: Any) -> ProofVerdict:
    try:
        verdict = check()
    except MerkleError as exc:
        return ProofVerdict(False, f"MerkleError: {exc}")
    assert isinstance(verdict, ProofVerdict)
    return verdict


pytestmark = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"Merkle vectors not found at {VECTORS}")


def test_vector_folders_are_populated() -> None:
    assert len(_files("inclusion")) > 50
    assert len(_files("consistency")) > 50


@pytest.mark.parametrize("path", _files("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    data = json.loads(path.read_text())
    verdict = _outcome(
        lambda: verify_inclusion(
            _b64(data["leafHash"]), data["leafIdx"], data["treeSize"], _proof(data), _b64(data["root"])
        )
    )
    if data["wantErr"]:
        assert not verdict.ok, data["desc"]
        assert verdict.reason
    else:
        assert verdict == ProofVerdict(True, ""), data["desc"]


@pytest.mark.parametrize("path", _files("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    data = json.loads(path.read_text())
    verdict = _outcome(
        lambda: verify_consistency(
            data["size1"], data["size2"], _proof(data), _b64(data["root1"]), _b64(data["root2"])
        )
    )
    if data["wantErr"]:
        assert not verdict.ok, data["desc"]
        assert verdict.reason
    else:
        assert verdict == ProofVerdict(True, ""), data["desc"]
