"""Identity registry tables: who may log in, with which certificates, in which roles.

An :class:`Identity` is either an organisation (an enterprise named by its unified social credit code)
or a natural person (an expert, a custodian, an officer). Certificates belong to exactly one identity;
dual certificates (one for signing, one for encryption) are two rows pointing at the same identity.
Roles are granted to identities; every grant records who granted it and when. Login challenges are
single-use nonces kept here too, so that any API process can consume them atomically.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tendering.db import Base, UTCDateTime, new_id


class Role(enum.StrEnum):
    """What an identity may do on the platform."""

    TENDERER = "tenderer"
    AGENCY = "agency"
    AUTHORITY = "authority"
    EXPERT = "expert"
    CUSTODIAN = "custodian"
    MONITOR = "monitor"
    ADMIN = "admin"


class IdentityKind(enum.StrEnum):
    """An organisation (named by USCC) or a natural person."""

    ENTERPRISE = "enterprise"
    PERSON = "person"


class CertificatePurpose(enum.StrEnum):
    """What a registered certificate is used for."""

    SIGNING = "signing"
    ENCRYPTION = "encryption"


class CertificateStatus(enum.StrEnum):
    """Whether a registered certificate may still be used."""

    ACTIVE = "active"
    REVOKED = "revoked"


class Identity(Base):
    """An organisation or a person known to the platform."""

    __tablename__ = "identities"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    #: The stable subject key: ``uscc:<code>`` or ``person:<id>``; unique.
    subject_key: Mapped[str] = mapped_column(String(160), unique=True)
    display_name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation | None] = relationship(back_populates="identity", uselist=False)
    person: Mapped[Person | None] = relationship(back_populates="identity", uselist=False)


class Organisation(Base):
    """An enterprise or public body, named by its unified social credit code."""

    __tablename__ = "organisations"

    identity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    #: enterprise (a bidder, a contractor), agency, authority or platform.
    kind: Mapped[str] = mapped_column(String(32), default="enterprise")

    identity: Mapped[Identity] = relationship(back_populates="organisation")


class Person(Base):
    """A natural person: expert, custodian, procurement or supervision officer, administrator."""

    __tablename__ = "persons"

    identity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(300))

    identity: Mapped[Identity] = relationship(back_populates="person")


class Certificate(Base):
    """A certificate registered to an identity."""

    __tablename__ = "certificates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: Lower-case hex SHA-256 of the DER encoding.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    purpose: Mapped[str] = mapped_column(String(16))
    identity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identities.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str] = mapped_column(String(1000))
    serial_number: Mapped[str] = mapped_column(String(80))
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=CertificateStatus.ACTIVE.value)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(200))

    identity: Mapped[Identity] = relationship()


class RoleGrant(Base):
    """A role held by an identity; revoking keeps the row (``revoked_at``) for the record."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("identity_id", "role", name="uq_role_grants_identity_role"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    identity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identities.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    #: The granting identity; None for self-registration and bootstrap grants (see ``grant_basis``).
    granted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("identities.id"))
    #: admin, self-registration, bootstrap (server-side CLI) or dev-pki.
    grant_basis: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("identities.id"))


class LoginChallenge(Base):
    """A single-use login nonce bound to an audience and an expiry."""

    __tablename__ = "login_challenges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    nonce: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BrowserSignInLink(Base):
    """A single-use, short-lived link that hands a logged-in client's identity to a browser.

    Only the SHA-256 of the link's secret is kept; the link carries the identity, certificate and roles
    of the bearer login that asked for it.
    """

    __tablename__ = "browser_signin_links"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: Space-separated roles of the login that asked for the link.
    roles: Mapped[str] = mapped_column(String(200))
    #: A local path to open after signing in.
    next_path: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BrowserSession(Base):
    """A server-side browser session (the cookie holds a secret whose SHA-256 is ``secret_sha256``)."""

    __tablename__ = "browser_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("identities.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: Space-separated roles carried over from the login; re-checked against the grants on every request.
    roles: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
