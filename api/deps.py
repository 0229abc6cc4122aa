"""Typed dependency markers shared by controllers."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency

from tendering.platform import Platform as _Platform

#: The platform services, injected into any handler parameter named ``platform``.
PlatformDep: TypeAlias = NamedDependency[_Platform]
