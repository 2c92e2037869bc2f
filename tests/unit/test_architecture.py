"""The architecture as imports: a pure domain, services that never import each other, a shared
library holding only what two or more services use, and production code that never imports the
sandbox."""

from __future__ import annotations

import ast
import importlib.util
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


def imported_modules(path: Path, *, with_imported_names: bool = False) -> set[str]:
    """The modules a file imports; with_imported_names adds x.y for `from x import y`, since y
    may be a module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if with_imported_names:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def shared_module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO / "shared").with_suffix("").parts)


def shared_modules() -> dict[str, Path]:
    """Every module of the shared library by dotted name; packages' `__init__` files left out."""
    return {
        shared_module_name(path): path
        for path in python_files(REPO / "shared/invoicesync")
        if path.name != "__init__.py"
    }


def shared_modules_imported_by(path: Path, shared: dict[str, Path]) -> set[str]:
    return imported_modules(path, with_imported_names=True) & set(shared)


def services_using_each_shared_module() -> dict[str, set[str]]:
    """{shared module: services that import it, directly or through other shared modules}."""
    shared = shared_modules()
    uses = {name: shared_modules_imported_by(path, shared) for name, path in shared.items()}
    users: dict[str, set[str]] = {name: set() for name in shared}
    for service, folder in SERVICE_PACKAGES.items():
        reached: set[str] = set()
        to_visit = [
            m for path in python_files(folder) for m in shared_modules_imported_by(path, shared)
        ]
        while to_visit:
            module = to_visit.pop()
            if module not in reached:
                reached.add(module)
                to_visit.extend(uses[module])
        for module in reached:
            users[module].add(service)
    return users


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


def test_every_service_folder_is_known_to_these_checks():
    folders = {path for path in (REPO / "services").glob("*/*") if (path / "__init__.py").exists()}
    assert folders == set(SERVICE_PACKAGES.values())


def test_each_service_name_imports_that_service_not_a_third_party_package():
    found = {
        name: Path(importlib.util.find_spec(name).submodule_search_locations[0]).resolve()
        for name in SERVICE_PACKAGES
    }
    assert found == {name: folder.resolve() for name, folder in SERVICE_PACKAGES.items()}


# The pure rules stay together in `invoicesync.domain` however many services call them today
# (style.md: the rules are plain functions in shared/, and the check above keeps them pure);
# `ledger_to_keap`, `xero_rounding` and `digest` each serve one service, `qbo_rounding` states
# QBO's arithmetic for the tests of `canonical_to_qbo`.
ONE_SERVICE_ALLOWED = (
    "invoicesync.domain.",
    # What every service may do on the broker: run by `make up` and Compose's topics job as the
    # broker's admin, imported by no service (each only logs in as the user it names).
    "invoicesync.kafka.access",
)


def test_the_shared_library_holds_only_what_two_or_more_services_use():
    used_by_fewer_than_two = {
        module: sorted(services)
        for module, services in services_using_each_shared_module().items()
        if len(services) < 2 and not module.startswith(ONE_SERVICE_ALLOWED)
    }
    assert used_by_fewer_than_two == {}, "move these into the one service that uses them"


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
    users = services_using_each_shared_module()
    assert users["invoicesync.settings"] == set(SERVICE_PACKAGES)
    # crypto reaches the writers only through the provider clients and the token store.
    assert {"xero_writer", "qbo_writer"} <= users["invoicesync.crypto"]
