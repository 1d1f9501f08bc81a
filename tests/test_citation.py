"""CITATION.cff is valid Citation File Format, cites this version, and prefers the paper.

The validator is cffconvert, the reference tool of the format. Its last release (2.0.0)
requires jsonschema<4, which the book's Jupyter stack (jupyter-events, jupyterlab-server:
jsonschema>=4.18) cannot share, so it is not in the test extra: it is installed, pinned,
into a virtual environment of its own under the test session's temporary directory
(from the package index or pip's cache, as ``make venv`` installs everything else).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CFF = REPO / "CITATION.cff"
CFFCONVERT = "cffconvert==2.0.0"


@pytest.fixture(scope="module")
def cffconvert(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cffconvert-venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    out = subprocess.run(
        [str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", CFFCONVERT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, f"could not install {CFFCONVERT}: {out.stderr[-2000:]}"
    return root / "bin" / "cffconvert"


def _validate(cffconvert: Path, file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(cffconvert), "--validate", "--infile", str(file)], capture_output=True, text=True, check=False
    )


def test_citation_file_is_valid_cff(cffconvert):
    out = _validate(cffconvert, CFF)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in out.stdout.lower()


def test_validator_rejects_a_citation_without_authors(cffconvert, tmp_path):
    data = yaml.safe_load(CFF.read_text())
    del data["authors"]
    bad = tmp_path / "CITATION.cff"
    bad.write_text(yaml.safe_dump(data))
    assert _validate(cffconvert, bad).returncode != 0


def test_citation_cites_this_version_and_prefers_the_paper():
    sys.path.insert(0, str(REPO))
    from scalinglib._version import __version__

    data = yaml.safe_load(CFF.read_text())
    assert data["type"] == "software"
    assert str(data["version"]) == __version__
    assert data["license"] == "MIT"
    paper = data["preferred-citation"]
    assert paper["doi"] == "10.48550/arXiv.2403.08540"
    assert paper["year"] == 2024
    assert paper["authors"][0] == {"family-names": "Gadre", "given-names": "Samir Yitzhak"}
    assert paper["authors"][-1]["family-names"] == "Schmidt"
    assert len(paper["authors"]) == 25


def test_readme_how_to_cite_points_to_the_citation_file():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## How to cite", 1)[1].split("\n## ", 1)[0]
    assert "CITATION.cff" in section
