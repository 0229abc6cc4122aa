"""Reading a request's draw back: its lines, eligible sets, sealed secret and line sequences.

A request's line sequences never change once it is drawn (they follow from the secret, the seed
checkpoint's root and the committed eligible sets), so :func:`sequences` keeps the last
:data:`CACHED_REQUESTS` in memory: a replacement, which runs while holding the request's lock, then
takes the next expert without unsealing the secret and recomputing the whole HMAC order. The cache is
per process, keyed by request id and seed root, and holds opaque expert ids only (as the worker's
memory already does while it computes the order).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts import draw_math
from experts.draw_math import Line
from experts.pool_models import ExtractionEligibleSet, ExtractionRequest
from experts.sealing import Sealed, load_list_key
from tendering.errors import Conflict
from tendering.settings import Settings


def lines_of(request: ExtractionRequest) -> list[Line]:
    """The request's lines in draw order."""
    return [Line(str(item["specialty"]), int(item["count"]), int(item["reserves"])) for item in request.lines]


def line_index(request: ExtractionRequest, specialty: str) -> int:
    """The index of the line of ``specialty``."""
    for index, line in enumerate(lines_of(request)):
        if line.specialty == specialty:
            return index
    raise Conflict(f"request {request.id} has no line {specialty}", code="expert-line-unknown")


def secret_aad(request_id: uuid.UUID) -> bytes:
    """What a sealed draw secret is bound to."""
    return b"sealbid.experts.secret.v1\x00" + request_id.bytes


def open_secret(settings: Settings, request: ExtractionRequest) -> bytes:
    """The request's draw secret (unsealed; never leaves the server before the reveal)."""
    return load_list_key(settings).open(Sealed.from_bytes(request.sealed_secret), secret_aad(request.id))


def eligible_sets(session: Session, request: ExtractionRequest) -> list[list[uuid.UUID]]:
    """The stored eligible set of each line, in line order."""
    rows = session.execute(
        select(ExtractionEligibleSet.line_index, ExtractionEligibleSet.expert_ids)
        .where(ExtractionEligibleSet.request_id == request.id)
        .order_by(ExtractionEligibleSet.line_index)
    ).all()
    return [draw_math.unpack_ids(bytes(data)) for _, data in rows]


def draw_seed(settings: Settings, request: ExtractionRequest) -> bytes:
    """The request's seed (the draw must have been made)."""
    if request.checkpoint_root is None:
        raise Conflict(f"request {request.id} has not been drawn yet", code="expert-draw-pending")
    return draw_math.seed(open_secret(settings, request), bytes(request.checkpoint_root), request.id)


CACHED_REQUESTS: Final = 32
_cache: OrderedDict[tuple[uuid.UUID, bytes], tuple[tuple[uuid.UUID, ...], ...]] = OrderedDict()
_cache_lock = threading.Lock()


def sequences(session: Session, settings: Settings, request: ExtractionRequest) -> list[list[uuid.UUID]]:
    """Every line's full sequence in the verifiable order (cached per drawn request, see above)."""
    if request.checkpoint_root is None:
        raise Conflict(f"request {request.id} has not been drawn yet", code="expert-draw-pending")
    key = (request.id, bytes(request.checkpoint_root))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is None:
        cached = tuple(tuple(line) for line in compute_sequences(session, settings, request))
        with _cache_lock:
            _cache[key] = cached
            while len(_cache) > CACHED_REQUESTS:
                _cache.popitem(last=False)
    return [list(line) for line in cached]


def compute_sequences(
    session: Session, settings: Settings, request: ExtractionRequest
) -> list[list[uuid.UUID]]:
    """Every line's full sequence in the verifiable order, computed afresh (no cache)."""
    eligible = eligible_sets(session, request)
    union: set[uuid.UUID] = set()
    for ids in eligible:
        union.update(ids)
    order = draw_math.order(draw_seed(settings, request), union)
    return draw_math.line_sequences(order, lines_of(request), eligible)
