"""``/log/checkpoints/preceding/{size}``: the checkpoint signed just before a stored one."""

from __future__ import annotations

import itertools

from litestar import Litestar
from litestar.testing import TestClient

from crypto.checkpoint import verify_checkpoint
from tendering.platform import Platform
from tests.translog.helpers import submit_batch

Client = TestClient[Litestar]


def _size(client: Client, platform: Platform, note: bytes) -> int:
    key = client.get("/log/key").text.strip()
    verdict = verify_checkpoint(note, key, platform.settings.log_origin)
    assert verdict.ok and verdict.checkpoint is not None, verdict.reasons
    return verdict.checkpoint.size


def test_the_preceding_checkpoint_is_the_one_signed_just_before(client: Client, platform: Platform) -> None:
    sizes = [platform.translog.checkpoint().size]
    for batch in (3, 2, 4):  # one signed checkpoint per sequencing batch
        submit_batch(platform, batch, sum(sizes))
        sizes.append(platform.translog.sequence_now().size)
    assert sizes == [1, 4, 6, 10]
    for earlier, later in itertools.pairwise(sizes):
        response = client.get(f"/log/checkpoints/preceding/{later}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert _size(client, platform, response.content) == earlier


def test_no_checkpoint_before_the_first_or_an_unknown_size(client: Client, platform: Platform) -> None:
    submit_batch(platform, 3, 0)
    platform.translog.sequence()
    first = client.get("/log/checkpoints/preceding/1")  # the log's first checkpoint (its first entry)
    assert first.status_code == 404
    assert first.json()["code"] == "log-no-checkpoint"
    between = client.get("/log/checkpoints/preceding/3")  # no checkpoint was signed at size 3
    assert (between.status_code, between.json()["code"]) == (404, "log-no-checkpoint")
    assert client.get("/log/checkpoints/preceding/4").status_code == 200
