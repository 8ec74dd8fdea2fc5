"""What ships where. The wheel carries the product only: the harness and the demo stay in the
checkout. The vendor files copied verbatim into the harness keep their licences beside them.

The wheel is built from a copy of the tree that still holds ``harness/`` beside the package, so a
``packages.find`` or package-data pattern that swept it in would show here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "sloguard", "harness")


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """File names inside a wheel built by ``pip wheel --no-deps`` from a copy of the tree."""
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tree / name)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(tree), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("sloguard-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_wheel_has_no_harness_testing_or_demo(wheel_files: list[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_files}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"sloguard"}, tops
    parts = {part for name in wheel_files for part in name.split("/")[:-1]}
    for unwanted in ("harness", "testing", "demo", "contracts", "tests", "bench"):
        assert unwanted not in parts, [n for n in wheel_files if f"{unwanted}/" in n]


def test_wheel_carries_the_product(wheel_files: list[str]) -> None:
    for needed in ("sloguard/__init__.py", "sloguard/cli/__init__.py", "sloguard/spec/__init__.py"):
        assert needed in wheel_files
    assert any(n.endswith(".dist-info/entry_points.txt") for n in wheel_files)


@pytest.mark.parametrize(
    "folder",
    [
        pytest.param("opsgenie/upstream-opsgenie-oas", id="opsgenie-oas"),
        pytest.param("standard-webhooks", id="standard-webhooks"),
    ],
)
def test_verbatim_vendor_copies_keep_their_licence(folder: str) -> None:
    """Apache-2.0 asks that the licence travel with the copied files (contracts/README.md)."""
    licence = REPO / "harness" / "contracts" / folder / "LICENSE"
    assert "Apache License" in licence.read_text("utf-8")
