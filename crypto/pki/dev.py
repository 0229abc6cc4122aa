"""sealbid's development/demo PKI: who gets which certificate.

Root ``dev-root`` -> intermediate ``dev-ca`` -> every participant and service certificate. ``dev-ca``
has a delegated OCSP responder; the root answers OCSP for ``dev-ca`` itself. All identifiers are
synthetic (USCCs are valid but made up with :func:`crypto.uscc.make_uscc`).

The roles listed here are *intended* roles, written into the certificates as X.520 ``role``
attributes and into the saved index. The server decides roles from its own identity -> roles
configuration (which ``sealbid pki init`` may seed from the index); it never trusts the hint alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from crypto.identity import IdentityKind
from crypto.pki.spec import (
    CASpec,
    KeyType,
    LeafPurpose,
    LeafSpec,
    PkiSpec,
    ServiceKind,
    ServiceSpec,
    Validity,
)
from crypto.uscc import make_org_code, make_uscc

__all__ = [
    "ROLE_ADMIN",
    "ROLE_AGENCY",
    "ROLE_CUSTODIAN",
    "ROLE_EXPERT",
    "ROLE_MONITOR",
    "ROLE_REVIEWER",
    "ROLE_SUPERVISOR",
    "ROLE_TENDEREE",
    "ROLE_TENDERER",
    "dev_pki_spec",
    "dev_uscc",
]

ROLE_TENDERER: Final = "tenderer"
ROLE_TENDEREE: Final = "tenderee"
ROLE_AGENCY: Final = "agency"
ROLE_REVIEWER: Final = "authority.reviewer"
ROLE_SUPERVISOR: Final = "authority.supervisor"
ROLE_EXPERT: Final = "expert"
ROLE_CUSTODIAN: Final = "custodian"
ROLE_MONITOR: Final = "monitor"
ROLE_ADMIN: Final = "admin"

_TENDERERS: Final = (
    "闽江建设工程有限公司",
    "海峡路桥集团有限公司",
    "榕城市政工程有限公司",
    "东南水利水电建设有限公司",
    "武夷山建筑安装有限公司",
)


def dev_uscc(serial: int, *, prefix: str = "91", division: str = "350100") -> str:
    """A valid, made-up USCC: authority/category ``prefix``, ``division`` and a numbered org code."""
    return make_uscc(f"{prefix}{division}{make_org_code(f'MA1DEB{serial:02d}')}")


def dev_pki_spec(base_url: str, now: datetime) -> PkiSpec:
    """The demo participants: 5 tenderers, 1 agency, 1 tenderee (dual certificates each); persons:
    1 reviewer, 1 supervisor, 5 experts, 3 custodians (dual), 1 monitor, 1 admin; services: platform
    signing, OCSP responder, TSA. Endpoint URLs live under ``base_url``.
    """
    enterprises = [
        LeafSpec(
            name=f"tenderer-{i}",
            kind=IdentityKind.ENTERPRISE,
            display_name=name,
            uscc=dev_uscc(i),
            roles=(ROLE_TENDERER,),
            key_type=KeyType.RSA_2048 if i == 5 else KeyType.EC_P256,
        )
        for i, name in enumerate(_TENDERERS, start=1)
    ]
    enterprises += [
        LeafSpec(
            name="agency",
            kind=IdentityKind.ENTERPRISE,
            display_name="福建公信招标代理有限公司",
            uscc=dev_uscc(20),
            roles=(ROLE_AGENCY,),
        ),
        LeafSpec(
            name="tenderee",
            kind=IdentityKind.ENTERPRISE,
            display_name="福州市城市建设服务中心",
            uscc=dev_uscc(30, prefix="12"),
            roles=(ROLE_TENDEREE,),
        ),
    ]
    authority_org = "福州市公共资源交易监督管理局"
    persons = [
        _person("reviewer", "审查员 王明", "A0000001", ROLE_REVIEWER, authority_org),
        _person("supervisor", "监督员 李华", "A0000002", ROLE_SUPERVISOR, authority_org),
        *(_person(f"expert-{i}", f"评标专家 {i:02d}", f"E{i:07d}", ROLE_EXPERT) for i in range(1, 6)),
        *(
            _person(
                f"custodian-{i}", f"密钥托管人 {i:02d}", f"C{i:07d}", ROLE_CUSTODIAN, purpose=LeafPurpose.DUAL
            )
            for i in range(1, 4)
        ),
        _person("monitor", "日志监察员", "M0000001", ROLE_MONITOR),
        _person("admin", "平台管理员", "S0000001", ROLE_ADMIN, "sealbid"),
    ]
    services = (
        ServiceSpec("ocsp-responder", ServiceKind.OCSP_RESPONDER, "sealbid Dev OCSP Responder"),
        ServiceSpec("tsa", ServiceKind.TSA, "sealbid Dev Time-Stamping Authority"),
        ServiceSpec(
            "platform-signing",
            ServiceKind.PLATFORM_SIGNING,
            "sealbid Platform Signing",
            organization_uscc=dev_uscc(99),
        ),
    )
    issuing_ca = CASpec(
        name="dev-ca",
        display_name="sealbid Dev Issuing CA",
        validity=Validity(timedelta(days=-30), timedelta(days=5 * 365)),
        path_length=0,
        leaves=(*enterprises, *persons),
        services=services,
    )
    root = CASpec(
        name="dev-root",
        display_name="sealbid Dev Root CA",
        validity=Validity(timedelta(days=-30), timedelta(days=10 * 365)),
        children=(issuing_ca,),
    )
    return PkiSpec(roots=(root,), base_url=base_url, now=now)


def _person(
    name: str,
    display_name: str,
    person_id: str,
    role: str,
    organization: str | None = None,
    *,
    purpose: LeafPurpose = LeafPurpose.SIGNING,
) -> LeafSpec:
    return LeafSpec(
        name=name,
        kind=IdentityKind.PERSON,
        display_name=display_name,
        person_id=person_id,
        organization=organization,
        roles=(role,),
        purpose=purpose,
    )
