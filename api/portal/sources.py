"""Where the portal reads published tenders from."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from tendering.platform import Platform
from tendering.search.query import PublicTenders
from tendering.search.source import DatabasePublicTenders


def provide_public_tenders(state: State) -> PublicTenders:
    """The app's public tender source: ``state.public_tenders`` if injected (tests), else the database."""
    injected: Any = state.get("public_tenders")
    if injected is not None:
        source: PublicTenders = injected
        return source
    platform: Platform = state.platform
    return DatabasePublicTenders(platform.session_factory, platform.procedures)


#: The public tender source, injected into a handler parameter named ``tenders``.
PublicTendersDep: TypeAlias = NamedDependency[PublicTenders]

PORTAL_DEPENDENCIES = {"tenders": Provide(provide_public_tenders, sync_to_thread=False)}
