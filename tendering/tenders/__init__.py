"""Tenders and announcements: the procedure table, the workflow, notices, documents, supervision.

Modules:

- ``procedures`` (+ ``procedures.toml``): the declarative procedure table with jurisdiction overrides.
- ``spec``: the tender content an agency writes (pydantic, shape only); ``rules``: the table's checks.
- ``models``, ``notice_models``, ``organisation_models``, ``supervision_models``: the tables.
- ``workflow``: the state machine; ``service``: draft, submit, review, publish, cancel, fail.
- ``notices``: clarifications, amendments, questions; ``documents``: uploads and recorded downloads.
- ``supervision``: time limits and yellow/red warnings; ``schedule``: the idempotent periodic tasks.
- ``queries`` and ``views``: read functions and read models for the API and the public portal.
- ``organisations``: organisation profiles and the related-party test.

See ``docs/tenders.md``.
"""

from __future__ import annotations

from tendering.tenders import schedule as _schedule  # noqa: F401 - registers the tenders.* tasks
