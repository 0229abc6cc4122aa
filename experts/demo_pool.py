"""A realistic synthetic expert pool for ``sealbid demo`` (names, employers and numbers are invented).

Experts get two-character Chinese names, one to three specialties (mostly works, some goods and
services, always at the leaf level), employers with valid USCCs in Fujian and Shanghai, professional
titles, one or two valid mainland mobile numbers, and a few are suspended, retired or unavailable.
The numbers ``DEMO-0001`` ... make a second load update nothing.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Final

from sqlalchemy.orm import Session

from crypto.uscc import make_org_code, make_uscc
from experts.pool import ExpertFields, upsert
from experts.specialties import specialties
from tendering.identity.audit import Actor
from tendering.platform import Platform

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
GIVEN: Final = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌宇浩凯鹏辉颖晨晓峰海波"
TITLES: Final = (
    "高级工程师",
    "正高级工程师",
    "高级经济师",
    "高级会计师",
    "教授",
    "副教授",
    "研究员",
    "注册造价工程师",
)
REGIONS: Final = (
    "350102",
    "350103",
    "350104",
    "350105",
    "350121",
    "350203",
    "350206",
    "310101",
    "310104",
    "310115",
)
MOBILE_PREFIXES: Final = ("138", "139", "135", "136", "137", "150", "151", "158", "186", "188", "189")
EMPLOYERS: Final = (
    "建工集团",
    "市政设计研究院",
    "交通规划设计院",
    "水利水电勘测设计院",
    "工程造价咨询公司",
    "理工大学",
    "信息技术研究所",
    "人民医院",
    "会计师事务所",
    "律师事务所",
)


def _leaf_codes() -> list[str]:
    codes = sorted(specialties())
    return [c for c in codes if not any(o != c and o.startswith(c) for o in codes)]


def demo_fields(index: int, rnd: random.Random, *, today_ordinal: int) -> ExpertFields:
    """The ``index``-th synthetic expert."""
    from datetime import date  # noqa: PLC0415 - only here

    leaves = _leaf_codes()
    works = [c for c in leaves if c.startswith("A")]
    picked = rnd.sample(works, 1) if rnd.random() < 0.6 else rnd.sample(leaves, 1)
    picked += rnd.sample(leaves, rnd.choice((0, 0, 1, 2)))
    region = rnd.choice(REGIONS)
    employer = rnd.randrange(60)
    uscc = make_uscc("91" + region + make_org_code(f"{70000000 + employer:08d}"))
    phones = [
        f"{rnd.choice(MOBILE_PREFIXES)}{rnd.randrange(10**8):08d}" for _ in range(rnd.choice((1, 2, 2)))
    ]
    status = rnd.choices(("active", "suspended", "retired"), weights=(92, 5, 3))[0]
    unavailable: tuple[tuple[date, date], ...] = ()
    if rnd.random() < 0.08:
        start = date.fromordinal(today_ordinal + rnd.randrange(60))
        unavailable = ((start, start + timedelta(days=rnd.randrange(1, 10))),)
    return ExpertFields(
        number=f"DEMO-{index:04d}",
        name=rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2)))),
        specialties=tuple(dict.fromkeys(picked)),
        region=region,
        employer_uscc=uscc,
        employer_name=f"福建省{EMPLOYERS[employer % len(EMPLOYERS)]}{employer // len(EMPLOYERS) + 1}",
        title=rnd.choice(TITLES),
        phones=tuple(dict.fromkeys(f"+86{p}" for p in phones)),
        status=status,
        unavailable=unavailable,
    )


def load_demo_pool(
    session: Session,
    platform: Platform,
    count: int = 300,
    *,
    seed: int | None = 2026,
    actor: Actor | None = None,
) -> list[uuid.UUID]:
    """Create (or keep) ``count`` synthetic experts in ``session``'s transaction; returns their ids.

    Every expert goes through :func:`experts.pool.upsert`, so the demo pool is audited and logged like
    an imported one. The same ``seed`` gives the same pool.
    """
    rnd = random.Random(seed)  # noqa: S311 - synthetic demo data, not security
    today = platform.clock.now().date().toordinal()
    who = actor or Actor.system("console")
    ids: list[uuid.UUID] = []
    for index in range(1, count + 1):
        expert, _, _ = upsert(session, platform, demo_fields(index, rnd, today_ordinal=today), actor=who)
        ids.append(expert.id)
    return ids
