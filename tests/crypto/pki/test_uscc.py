"""Unified social credit codes: check characters, structure, and real-world examples."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.uscc import (
    AUTHORITIES,
    CHARSET,
    InvalidUscc,
    is_valid_uscc,
    make_org_code,
    make_uscc,
    org_code_check_char,
    parse_uscc,
    uscc_check_char,
)

# Published codes (both the final and the embedded GB 11714 check character verified by hand below).
REAL_CODES = [
    "91350100M000100Y43",  # the example code quoted in GB 32100 explanations
    "914403001922038216",
    "91330100716105852F",
    "91110000802100433B",
    "9144030071526726XG",
    "91440300708461136T",
]


def test_check_character_of_the_quoted_example_by_hand() -> None:
    # 9 1 3 5 0 1 0 0 M 0 0 0 1 0 0 Y 4 with M=21, Y=30 (index in the 31-character set)
    values = [9, 1, 3, 5, 0, 1, 0, 0, 21, 0, 0, 0, 1, 0, 0, 30, 4]
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(v * w for v, w in zip(values, weights, strict=True))
    assert total == 1640  # 1640 = 52 * 31 + 28
    assert 31 - total % 31 == 3
    assert uscc_check_char("91350100M000100Y4") == "3"
    # GB 11714 over M000100Y (M=22, Y=34 over the full alphabet), weights 3 7 9 10 5 8 4 2
    assert 11 - (22 * 3 + 1 * 5 + 34 * 2) % 11 == 4
    assert org_code_check_char("M000100Y") == "4"


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    parsed = parse_uscc(code)
    assert str(parsed) == code
    assert parsed.authority_code == "9"
    assert parsed.authority_name == "industry and commerce"
    assert parsed.category_name == "enterprise"
    assert parsed.division_code == code[2:8]
    assert parsed.org_code == code[8:17]
    assert parsed.check_char == code[17]
    assert is_valid_uscc(code)


def test_charset_has_31_characters_without_i_o_s_v_z() -> None:
    assert len(CHARSET) == 31
    assert not set("IOSVZ") & set(CHARSET)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100M000100Y44", "check character is '4' but should be '3'"),
        ("91350100M0001O0Y43", "'O' at position 14"),
        ("91350100m000100Y43", "'m' at position 9"),
        (" 1350100M000100Y43", "' ' at position 1"),
        ("9135010AM000100Y4" + uscc_check_char("9135010AM000100Y4"), "six digits"),
        ("X1350100M000100Y4" + uscc_check_char("X1350100M000100Y4"), "not a registration authority"),
        ("94350100M000100Y4" + uscc_check_char("94350100M000100Y4"), "not an organisation category"),
        ("91350100M000100Y5" + uscc_check_char("91350100M000100Y5"), "GB 11714"),
    ],
)
def test_invalid_codes_say_why(code: str, reason: str) -> None:
    with pytest.raises(InvalidUscc, match=reason.replace("(", r"\(")):
        parse_uscc(code)
    assert not is_valid_uscc(code)


def test_non_strict_skips_the_structure_tables_but_not_the_check_character() -> None:
    code = "94350100M000100Y5" + uscc_check_char("94350100M000100Y5")
    assert not is_valid_uscc(code)
    assert is_valid_uscc(code, strict=False)
    assert not is_valid_uscc(code[:-1] + ("0" if code[-1] != "0" else "1"), strict=False)


def test_non_strings_are_invalid() -> None:
    assert not is_valid_uscc(None)
    assert not is_valid_uscc(913501001)
    with pytest.raises(InvalidUscc, match="a int"):
        parse_uscc(913501001)  # type: ignore[arg-type]


def test_make_uscc_rejects_bad_bodies() -> None:
    with pytest.raises(InvalidUscc, match="17 characters"):
        make_uscc("9135")
    with pytest.raises(InvalidUscc, match="GB 11714"):
        make_uscc("91350100M000100Y5")
    assert make_uscc("91350100M000100Y4") == "91350100M000100Y43"


_ORG_CHARS = st.sampled_from(CHARSET)


@st.composite
def uscc_bodies(draw: st.DrawFn) -> str:
    """Structurally valid 17-character bodies."""
    authority = draw(st.sampled_from(sorted(AUTHORITIES)))
    category = draw(st.sampled_from(sorted(AUTHORITIES[authority].categories)))
    division = draw(st.text("0123456789", min_size=6, max_size=6))
    org_body = draw(st.text(_ORG_CHARS, min_size=8, max_size=8))
    return f"{authority}{category}{division}{make_org_code(org_body)}"


@given(uscc_bodies())
def test_every_made_code_validates(body: str) -> None:
    code = make_uscc(body)
    assert code.startswith(body)
    assert parse_uscc(code).code == code


@given(uscc_bodies(), st.integers(0, 17), st.sampled_from(CHARSET + "IOSVZabc -"))
def test_any_single_character_change_is_rejected(body: str, position: int, replacement: str) -> None:
    code = make_uscc(body)
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1 :]
    assert not is_valid_uscc(changed, strict=False)
    assert not is_valid_uscc(changed)


@given(st.text(min_size=0, max_size=30))
def test_parse_never_raises_anything_but_invalid_uscc(text: str) -> None:
    with contextlib.suppress(InvalidUscc):
        parse_uscc(text)
