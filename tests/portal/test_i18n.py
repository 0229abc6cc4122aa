"""Message catalogs and language negotiation."""

from __future__ import annotations

import pytest

from tendering.i18n import LOCALES, Catalog, load_messages, negotiate_locale, parse_accept_language


def test_catalogs_have_the_same_keys() -> None:
    keys = {locale: set(load_messages(locale)) for locale in LOCALES}
    assert keys["zh-CN"] == keys["en"]
    assert all(load_messages(locale)[key].strip() for locale in LOCALES for key in keys[locale])


def test_gettext_formats_and_falls_back() -> None:
    assert Catalog("zh-CN")("list.count", count=3) == "共 3 条公告"
    assert Catalog("en")("list.count", count=3) == "3 announcements"
    assert Catalog("en")("no.such.key") == "no.such.key"
    assert Catalog("zh-CN").html_lang == "zh-Hans-CN"
    with pytest.raises(ValueError, match="no catalog"):
        Catalog("fr")


def test_accept_language_order() -> None:
    assert parse_accept_language("en;q=0.5, zh-CN, fr;q=0, de;q=x") == ["zh-CN", "en"]


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        (None, None, None, "zh-CN"),
        ("en", "zh-CN", "zh", "en"),
        (None, "en", "zh", "en"),
        (None, None, "en-GB,en;q=0.8", "en"),
        (None, None, "fr, zh-Hans;q=0.5", "zh-CN"),
        ("xx", None, "fr", "zh-CN"),
    ],
)
def test_negotiation(query: str | None, cookie: str | None, header: str | None, expected: str) -> None:
    assert negotiate_locale(query=query, cookie=cookie, accept_language=header) == expected
