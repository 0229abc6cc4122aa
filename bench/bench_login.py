"""Benchmark certificate login round trips through the app, with the validation cache on and off.

Run with ``uv run python -m bench.bench_login [--rounds N]``. One round is what ``sealbid login``
does: ``POST /auth/challenge``, sign the canonical challenge locally (ECDSA P-256), ``POST /auth/login``
(certificate path validation with in-memory OCSP, signature check, registry, token, log entry). The
same run then measures authenticated requests (``GET /auth/me``: token check, registry look-up and
the cached certificate check). The app runs in-process (Litestar TestClient) on a temporary SQLite
database with the development PKI. No assertions: this only reports.
"""

from __future__ import annotations

import argparse
import base64
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient

from api.app import create_app
from crypto.pki import BuiltPki, build_pki
from crypto.pki.dev import dev_pki_spec
from tendering.clock import SystemClock
from tendering.migrations import upgrade
from tendering.platform import build_platform
from tendering.settings import load_settings

PARTICIPANTS = ("tenderer-1", "tenderer-2", "tenderer-3", "tenderer-4")


@dataclass
class Result:
    cache_ttl: int
    logins_per_s: float
    requests_per_s: float


def _login(client: TestClient, pki: BuiltPki, participant: str) -> str:  # type: ignore[type-arg]
    credential = pki.signing(participant)
    issued = client.post("/auth/challenge").json()
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = key.sign(base64.b64decode(issued["signing_input"]), ec.ECDSA(hashes.SHA256()))
    answer = client.post(
        "/auth/login",
        json={
            "challenge_id": issued["challenge"]["id"],
            "certificate": base64.b64encode(credential.certificate.public_bytes(Encoding.DER)).decode(),
            "signature": base64.b64encode(signature).decode(),
            "signature_algorithm": "ecdsa-sha256",
        },
    )
    if answer.status_code != 200:
        raise SystemExit(f"login failed: {answer.text}")
    return str(answer.json()["token"])


def run(pki: BuiltPki, cache_ttl: int, rounds: int, workdir: Path) -> Result:
    """Time ``rounds`` logins and ``rounds`` authenticated requests with the given cache TTL."""
    settings = load_settings(
        None,
        environment="development",
        data_dir=workdir / f"ttl-{cache_ttl}",
        cert_cache_ttl_seconds=cache_ttl,
    )
    platform = build_platform(settings, clock=SystemClock())
    upgrade(platform.engine)
    platform.certificates.use_dev_pki(pki)
    try:
        with TestClient(create_app(platform=platform, configure_logs=False)) as client:
            for participant in PARTICIPANTS:  # warm up: self-registration, first validations
                _login(client, pki, participant)
            started = time.perf_counter()
            token = ""
            for i in range(rounds):
                token = _login(client, pki, PARTICIPANTS[i % len(PARTICIPANTS)])
            login_s = time.perf_counter() - started
            headers = {"Authorization": f"Bearer {token}"}
            started = time.perf_counter()
            for _ in range(rounds):
                client.get("/auth/me", headers=headers)
            request_s = time.perf_counter() - started
    finally:
        platform.close()
    return Result(cache_ttl, rounds / login_s, rounds / request_s)


def main() -> None:
    """Run with the cache off and on and print both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="login round trips per configuration")
    parser.add_argument(
        "--repeat", type=int, default=2, help="alternating runs per configuration (best kept)"
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)
    pki = build_pki(dev_pki_spec("http://127.0.0.1:8000/dev-pki", SystemClock().now()))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results: dict[int, list[Result]] = {0: [], 300: []}
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeat):  # alternate, each on a fresh database; keep the best of each
            for ttl in (0, 300):
                results[ttl].append(run(pki, ttl, args.rounds, Path(tmp) / str(attempt)))
    off, on = (
        Result(ttl, max(r.logins_per_s for r in rs), max(r.requests_per_s for r in rs))
        for ttl, rs in results.items()
    )
    print(f"{'certificate cache':<20} {'logins/s':>10} {'GET /auth/me/s':>16}")
    for result in (off, on):
        label = "off" if result.cache_ttl == 0 else f"on (ttl {result.cache_ttl}s)"
        print(f"{label:<20} {result.logins_per_s:>10.1f} {result.requests_per_s:>16.1f}")
    print(
        f"ratio on/off: logins {on.logins_per_s / off.logins_per_s:.2f}x, "
        f"authenticated requests {on.requests_per_s / off.requests_per_s:.2f}x "
        f"({args.rounds} rounds, best of {args.repeat})"
    )


if __name__ == "__main__":
    main()
