"""Shared fixtures: where the testbed and the external data live.

``SCALINGLIB_DATA`` (default ``<repo>/../shared/testbed/exp_data``) and
``SCALINGLIB_EXTERNAL`` (default ``<repo>/../shared/external``) name the directories.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _directory(env: str, default: Path, what: str) -> Path:
    path = Path(os.environ.get(env) or default)
    if not path.is_dir():
        pytest.fail(f"{what} not found at {path}: set {env} to its directory", pytrace=False)
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The testbed's ``exp_data`` directory."""
    return _directory("SCALINGLIB_DATA", REPO.parent / "shared" / "testbed" / "exp_data", "testbed data")


@pytest.fixture(scope="session")
def testbed(data_dir):
    """The 104-run testbed table, loaded once per session."""
    from scalinglib.data import load_testbed

    return load_testbed(data_dir)


@pytest.fixture(scope="session")
def external_dir() -> Path:
    """Directory holding ``chinchilla_svg_extracted_data.csv``."""
    return _directory("SCALINGLIB_EXTERNAL", REPO.parent / "shared" / "external", "external data")
