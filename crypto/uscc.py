"""Unified social credit codes (统一社会信用代码) per GB 32100-2015.

A code has 18 characters from a 31-character set (digits and upper-case letters without I, O, S, V, Z)::

    position 1       registration authority code (登记管理部门代码), e.g. ``9`` market regulation
    position 2       organisation category code (机构类别代码), e.g. ``1`` enterprise
    positions 3-8    administrative division code of the registering office (GB/T 2260, six digits)
    positions 9-17   subject identification code (主体标识码): an organisation code per GB 11714,
                     whose 9th character is its own check character (mod 11, ``X`` for 10)
    position 18      check character: 31 - (sum of value(c_i) * w_i mod 31), 31 mapped to 0,
                     with weights 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28

The 2015 text of the standard fixes the authorities 1 (staffing), 5 (civil affairs), 9 (industry and
commerce) and Y (other); the code allocation authority has since assigned 2, 3, 4, 6, 7, 8, A and N with
their categories. :data:`AUTHORITIES` holds that published table. ``strict`` parsing (the default)
checks the authority/category pair and the embedded GB 11714 check character; non-strict parsing checks
only the length, the character set, the division digits and the final check character.

Parsing never normalises: lower case, spaces or hyphens make a code invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "AUTHORITIES",
    "CHARSET",
    "WEIGHTS",
    "InvalidUscc",
    "Uscc",
    "is_valid_uscc",
    "make_org_code",
    "make_uscc",
    "org_code_check_char",
    "parse_uscc",
    "uscc_check_char",
]

CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 code characters; a character's value is its index here."""

WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""Weights of positions 1-17 for the final check character (3**i mod 31)."""

_VALUES: Final = {c: i for i, c in enumerate(CHARSET)}
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_LENGTH: Final = 18


@dataclass(frozen=True)
class _Authority:
    name: str
    name_zh: str
    categories: Mapping[str, str]


AUTHORITIES: Final[Mapping[str, _Authority]] = {
    "1": _Authority(
        "institutional staffing",
        "机构编制",
        {"1": "state organ", "2": "public institution", "3": "mass organisation", "9": "other"},
    ),
    "2": _Authority("foreign affairs", "外交", {"1": "resident foreign news agency", "9": "other"}),
    "3": _Authority(
        "judicial administration",
        "司法行政",
        {
            "1": "law firm",
            "2": "notary office",
            "3": "basic-level legal service office",
            "4": "forensic appraisal institution",
            "5": "arbitration commission",
            "9": "other",
        },
    ),
    "4": _Authority("culture", "文化", {"1": "foreign cultural centre", "9": "other"}),
    "5": _Authority(
        "civil affairs",
        "民政",
        {"1": "social organisation", "2": "private non-enterprise unit", "3": "foundation", "9": "other"},
    ),
    "6": _Authority(
        "tourism",
        "旅游",
        {
            "1": "foreign tourism office",
            "2": "Hong Kong, Macao or Taiwan tourism office",
            "9": "other",
        },
    ),
    "7": _Authority(
        "religious affairs", "宗教", {"1": "place of worship", "2": "religious college", "9": "other"}
    ),
    "8": _Authority("trade unions", "工会", {"1": "grassroots trade union", "9": "other"}),
    "9": _Authority(
        "industry and commerce",
        "工商",
        {"1": "enterprise", "2": "individual business", "3": "farmers' cooperative"},
    ),
    "A": _Authority(
        "CMC reform and staffing office",
        "中央军委改革和编制办公室",
        {"1": "military institution", "9": "other"},
    ),
    "N": _Authority(
        "agriculture",
        "农业",
        {
            "1": "group-level collective economic organisation",
            "2": "village-level collective economic organisation",
            "3": "township-level collective economic organisation",
            "9": "other",
        },
    ),
    "Y": _Authority("other", "其他", {"1": "other"}),
}
"""Registration authority codes and their organisation category codes."""


class InvalidUscc(ValueError):
    """A string is not a valid unified social credit code; ``str(err)`` says why."""


@dataclass(frozen=True)
class Uscc:
    """A parsed, valid unified social credit code. ``str(uscc)`` is the 18-character code."""

    code: str

    def __str__(self) -> str:
        return self.code

    @property
    def authority_code(self) -> str:
        """Position 1: the registration authority code."""
        return self.code[0]

    @property
    def category_code(self) -> str:
        """Position 2: the organisation category code."""
        return self.code[1]

    @property
    def division_code(self) -> str:
        """Positions 3-8: administrative division code of the registering office."""
        return self.code[2:8]

    @property
    def org_code(self) -> str:
        """Positions 9-17: the GB 11714 organisation code, including its own check character."""
        return self.code[8:17]

    @property
    def check_char(self) -> str:
        """Position 18: the check character."""
        return self.code[17]

    @property
    def authority_name(self) -> str | None:
        """English name of the registration authority, ``None`` if not in :data:`AUTHORITIES`."""
        authority = AUTHORITIES.get(self.authority_code)
        return authority.name if authority else None

    @property
    def category_name(self) -> str | None:
        """English name of the organisation category, ``None`` if unknown for this authority."""
        authority = AUTHORITIES.get(self.authority_code)
        return authority.categories.get(self.category_code) if authority else None


def uscc_check_char(body17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code (charset checked)."""
    _check_charset(body17, 17)
    total = sum(_VALUES[c] * w for c, w in zip(body17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body (``X`` stands for 10)."""
    _check_charset(body8, 8)
    total = sum(_org_value(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def make_org_code(body8: str) -> str:
    """Append the GB 11714 check character to an 8-character organisation code body."""
    return body8 + org_code_check_char(body8)


def make_uscc(body17: str, *, strict: bool = True) -> str:
    """Append the check character to the first 17 characters of a code.

    The body is checked like :func:`parse_uscc` checks a code (with the same ``strict``), so every
    code this returns parses. Raises :class:`InvalidUscc` for a body that cannot become a valid code.
    """
    if not isinstance(body17, str) or len(body17) != 17:
        raise InvalidUscc(f"a USCC body has 17 characters, got {_describe_length(body17)}")
    _check_charset(body17, 17)
    _check_structure(body17, strict=strict)
    return body17 + uscc_check_char(body17)


def parse_uscc(code: str, *, strict: bool = True) -> Uscc:
    """Parse and validate an 18-character unified social credit code.

    Checks the length, the character set, the final check character, that positions 3-8 are digits
    and, when ``strict``, the registration authority / category pair and the organisation code's own
    check character. Raises :class:`InvalidUscc` with a readable reason.
    """
    if not isinstance(code, str) or len(code) != _LENGTH:
        raise InvalidUscc(f"a USCC has 18 characters, got {_describe_length(code)}")
    _check_charset(code, _LENGTH)
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidUscc(f"USCC {code}: check character is {code[17]!r} but should be {expected!r}")
    _check_structure(code[:17], strict=strict)
    return Uscc(code)


def is_valid_uscc(code: object, *, strict: bool = True) -> bool:
    """True if ``code`` is a string that :func:`parse_uscc` accepts."""
    if not isinstance(code, str):
        return False
    try:
        parse_uscc(code, strict=strict)
    except InvalidUscc:
        return False
    return True


def _describe_length(value: object) -> str:
    if isinstance(value, str):
        return f"{len(value)}"
    return f"a {type(value).__name__}"


def _check_charset(text: str, length: int) -> None:
    if len(text) != length:
        raise InvalidUscc(f"expected {length} characters, got {len(text)}")
    for position, char in enumerate(text, start=1):
        if char not in _VALUES:
            raise InvalidUscc(
                f"character {char!r} at position {position} is not a USCC character "
                "(0-9, A-H, J-N, P-R, T-U, W-Y)"
            )


def _check_structure(body17: str, *, strict: bool) -> None:
    division = body17[2:8]
    if not division.isdigit():
        raise InvalidUscc(f"the administrative division code {division!r} (positions 3-8) must be six digits")
    if not strict:
        return
    authority = AUTHORITIES.get(body17[0])
    if authority is None:
        raise InvalidUscc(f"{body17[0]!r} (position 1) is not a registration authority code")
    if body17[1] not in authority.categories:
        raise InvalidUscc(
            f"{body17[1]!r} (position 2) is not an organisation category of authority "
            f"{body17[0]!r} ({authority.name}); allowed: {', '.join(authority.categories)}"
        )
    org_code = body17[8:17]
    expected = org_code_check_char(org_code[:8])
    if org_code[8] != expected:
        raise InvalidUscc(
            f"the organisation code {org_code!r} (positions 9-17) has check character "
            f"{org_code[8]!r}, but GB 11714 gives {expected!r}"
        )


def _org_value(char: str) -> int:
    # GB 11714 values: digits as themselves, letters A=10 ... Z=35 over the full alphabet.
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10
