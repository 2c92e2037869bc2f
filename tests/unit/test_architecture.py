"""The architecture as imports: a pure domain, services that never import each other, and
production code that never imports the sandbox."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = {
    "ingest": REPO / "services/ingest/ingest",
    "admin": REPO / "services/admin/admin",
    "transform": REPO / "services/transform/transform",
    "xero_writer": REPO / "services/xero-writer/xero_writer",
    "qbo_writer": REPO / "services/qbo-writer/qbo_writer",
    "reverse_sync": REPO / "services/reverse-sync/reverse_sync",
    "notifications": REPO / "services/notifications/notifications",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_the_domain_imports_only_the_standard_library_and_itself():
    offenders = []
    for path in python_files(REPO / "shared/invoicesync/domain"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if module.startswith("invoicesync.domain") or top in sys.stdlib_module_names:
                continue
            if top == "__future__":
                continue
            offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def test_services_never_import_each_other():
    offenders = []
    for service, folder in SERVICE_PACKAGES.items():
        others = set(SERVICE_PACKAGES) - {service}
        for path in python_files(folder):
            for module in imported_modules(path):
                if module.split(".")[0] in others:
                    offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def test_production_code_never_imports_the_sandbox():
    production = [REPO / "shared", *SERVICE_PACKAGES.values()]
    offenders = [
        f"{path.relative_to(REPO)} imports {module}"
        for folder in production
        for path in python_files(folder)
        for module in imported_modules(path)
        if module.split(".")[0] == "invoicesync_sandbox"
    ]
    assert offenders == []


def test_the_checks_above_see_real_code():
    assert python_files(REPO / "shared/invoicesync/domain"), "the domain folder moved"
    assert "invoicesync.domain.canonical" in imported_modules(REPO / "shared/invoicesync/events.py")
