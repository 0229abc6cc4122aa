"""The specialty code list: well-formed, every code has its parent, parents meet their children."""

from __future__ import annotations

import pytest

from experts.specialties import CODE, check_code, meets, specialties
from tendering.errors import InvalidInput


def test_every_code_is_well_formed_named_twice_and_has_its_parent() -> None:
    items = specialties()
    assert {"A", "B", "C", "A01", "A0101"} <= set(items)
    for code, item in items.items():
        assert CODE.fullmatch(code)
        assert item.zh and item.en
        assert item.parent is None or item.parent in items
    assert items["A0101"].name("en") == "Structural engineering"
    assert items["A0101"].name("zh-CN") == "建筑结构"


def test_a_parent_request_is_met_by_children_but_not_the_reverse() -> None:
    assert meets("A01", ["A0101"])
    assert meets("A", ["A0502"])
    assert meets("A0101", ["B01", "A0101"])
    assert not meets("A0101", ["A01"])
    assert not meets("A02", ["A0101", "B0201"])


def test_unknown_codes_are_refused() -> None:
    assert check_code(" a0101 ") == "A0101"
    with pytest.raises(InvalidInput) as caught:
        check_code("A9999")
    assert caught.value.code == "expert-specialty-unknown"
