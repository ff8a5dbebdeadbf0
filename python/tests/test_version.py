"""The package reports the version of the Cargo workspace it was built from."""

from __future__ import annotations

import sys
from pathlib import Path

import trimline
import trimline._trimline

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the test extra installs tomli there
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parents[2]


def cargo_workspace_version() -> str:
    """Read ``[workspace.package] version`` from the root Cargo.toml."""
    with (REPO_ROOT / "Cargo.toml").open("rb") as f:
        manifest = tomllib.load(f)
    version = manifest["workspace"]["package"]["version"]
    assert isinstance(version, str)
    return version


def test_version_matches_cargo() -> None:
    assert trimline.__version__ == cargo_workspace_version()


def test_version_comes_from_native_module() -> None:
    assert trimline.__version__ is trimline._trimline.__version__
    assert "__version__" in trimline.__all__


def test_package_is_typed() -> None:
    package_dir = Path(trimline.__file__).parent
    assert (package_dir / "py.typed").is_file()
    assert (package_dir / "_trimline.pyi").is_file()
