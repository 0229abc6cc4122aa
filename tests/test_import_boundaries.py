"""The dependency direction between sealbid's packages, proven by walking every module's imports.

    api        -> evaluation, experts, tendering, crypto
    evaluation -> tendering, crypto
    experts    -> tendering, crypto
    tendering  -> crypto
    crypto     -> third-party only

Nothing imports ``api``; ``experts`` and ``evaluation`` never import each other. Imports inside functions
and ``TYPE_CHECKING`` blocks count too (an AST walk over every node, not just the module's top level);
relative imports are resolved against the importing module (they cannot leave a top-level package, so
they never cross a boundary, but they are resolved all the same).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crypto", "tendering", "experts", "evaluation", "api")
#: What each package may import of the others (itself always).
ALLOWED: dict[str, frozenset[str]] = {
    "api": frozenset({"evaluation", "experts", "tendering", "crypto"}),
    "evaluation": frozenset({"tendering", "crypto"}),
    "experts": frozenset({"tendering", "crypto"}),
    "tendering": frozenset({"crypto"}),
    "crypto": frozenset(),
}


@dataclass(frozen=True)
class Violation:
    """One import that goes against the direction."""

    module: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every absolute module name ``tree`` imports (anywhere in it), with the line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                keep = len(base) - node.level + (1 if is_package else 0)
                prefix = ".".join(base[: max(keep, 0)])
                name = ".".join(part for part in (prefix, node.module) if part)
            else:
                name = node.module or ""
            yield node.lineno, name
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                yield node.lineno, argument.value


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in ("__import__", "import_module") and bool(node.args)


def check_source(source: str, module: str, *, is_package: bool = False) -> list[Violation]:
    """The imports of ``source`` (the module ``module``) that break the direction."""
    own = module.split(".", maxsplit=1)[0]
    allowed = ALLOWED[own] | {own}
    found: list[Violation] = []
    for line, name in _imported(ast.parse(source), module, is_package):
        top = name.split(".")[0]
        if top in PACKAGES and top not in allowed:
            found.append(Violation(module, line, name))
    return found


def _sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_every_package_imports_only_downwards() -> None:
    files = list(_sources())
    assert len(files) > 100  # the walk found the code (not an empty or moved tree)
    violations = [
        str(violation)
        for path in files
        for violation in check_source(
            path.read_text(encoding="utf-8"), _module_name(path), is_package=path.name == "__init__.py"
        )
    ]
    assert violations == []


@pytest.mark.parametrize(
    ("module", "source", "imported"),
    [
        ("crypto.merkle", "import tendering.errors\n", "tendering.errors"),
        ("tendering.platform", "from api import app\n", "api"),
        ("experts.drawing", "def f():\n    from evaluation import scoring\n", "evaluation"),
        ("evaluation.report", "if True:\n    import experts.pool_models as m\n", "experts.pool_models"),
        ("experts.pool", "import crypto.uscc, api.deps\n", "api.deps"),
        ("tendering.bids.reading", "class A:\n    def m(self):\n        import experts\n", "experts"),
        ("experts.pool", "import importlib\nimportlib.import_module('api.cli')\n", "api.cli"),
        ("crypto.uscc", "__import__('experts')\n", "experts"),
    ],
)
def test_the_checker_catches_a_violation(module: str, source: str, imported: str) -> None:
    assert [v.imported for v in check_source(source, module)] == [imported]


def test_the_checker_allows_the_direction_and_third_party() -> None:
    allowed = (
        "import hashlib\nimport sqlalchemy\nfrom crypto import merkle\nfrom tendering.errors import NotFound\n"
        "from . import draw_math\nfrom .pool_models import Expert\n"
        "def f():\n    from tendering.platform import Platform\n"
    )
    assert check_source(allowed, "experts.committee") == []
    assert check_source("from . import signednote\n", "crypto", is_package=True) == []
    assert check_source("from ..draw_public import reveal_due\n", "experts.telephony.twilio") == []
    assert check_source("import evaluation\nimport experts\n", "api.app") == []
