"""CMS attributes as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import cms

from crypto.cms.errors import ASN1_PARSE_ERRORS, LimitExceeded, MalformedCms

__all__ = ["MAX_ATTRIBUTES", "Attribute", "parse_attributes"]

MAX_ATTRIBUTES = 64
"""More attributes than this in one set is treated as abuse."""


@dataclass(frozen=True, slots=True)
class Attribute:
    """One CMS ``Attribute``: its type (dotted OID) and the DER of each value."""

    type: str
    values: tuple[bytes, ...]


def parse_attributes(der: bytes | None, what: str) -> tuple[Attribute, ...]:
    """Parse an encoded ``SET OF Attribute`` (any tag: ``[n] IMPLICIT`` or universal SET)."""
    if der is None:
        return ()
    try:
        attrs = cms.CMSAttributes.load(b"\x31" + der[1:], strict=True)
        if len(attrs) > MAX_ATTRIBUTES:
            raise LimitExceeded(f"{what} has more than {MAX_ATTRIBUTES} attributes")
        out = []
        for attr in attrs:
            values = attr["values"]
            values_der = values.dump()
            out.append(
                Attribute(
                    str(attr["type"].dotted),
                    tuple(v.dump() for v in cms.SetOfAny.load(values_der)),
                )
            )
        return tuple(out)
    except MalformedCms:
        raise
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"{what} does not parse: {exc}") from None
