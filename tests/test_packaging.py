"""The release artefacts: the sdist and wheel build, and the wheel works outside the repository.

One module-scoped build (``python -m build --no-isolation``: offline, with the build
backend of the test extra, setuptools>=77 and wheel, already in the environment) makes
the sdist, then the wheel *from the sdist*, so a file missing from the sdist breaks the
wheel too. The wheel is installed with ``--no-deps --no-index`` into a fresh virtual
environment under ``tmp_path``, far from the repository; that environment sees the
dependencies (numpy, pandas, ...) through a ``.pth`` file naming the test run's own
site-packages, so no package index is needed and the dependency versions are the ones
the rest of the suite tests. A ``.pth`` path is not scanned for further ``.pth`` files,
so the project's editable install is not seen there: the tests check that
``scalinglib`` is imported from the fresh environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from scalinglib._version import __version__

SDIST_MUST_HOLD = (
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "CITATION.cff",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/test_packaging.py",
    "tests/data/fit_reference.json",
    "scalinglib/registry/testbed.txt",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0], "log": log}


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment outside the repository with only the wheel installed."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    py = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # pip of the test run installs into the new environment (it has none of its own)
    # --ignore-installed: a scalinglib on the test run's path (the checkout's egg-info,
    # an editable install) must not count as already installed
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "--disable-pip-version-check",
            str(dist["wheel"]),
        ],
        check=True,
        env=_clean_env(),
        cwd=root,
    )
    # then the dependencies (after the install: pip would take the checkout's editable
    # install, seen through this path, as scalinglib already installed)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return root


def _clean_env() -> dict:
    """The environment without a path that would bring the checkout back."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _run(venv: Path, *argv: str, env: dict | None = None, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**_clean_env(), "VIRTUAL_ENV": str(venv), **(env or {})},
    )


def test_build_gives_no_setuptools_deprecation_warning(dist):
    assert "SetuptoolsDeprecationWarning" not in dist["log"]
    assert "deprecated" not in dist["log"].lower(), [ln for ln in dist["log"].splitlines() if "deprecat" in ln.lower()]


def test_artefacts_carry_the_one_version_and_the_spdx_licence(dist):
    assert dist["wheel"].name == f"scalinglib-{__version__}-py3-none-any.whl"
    assert dist["sdist"].name == f"scalinglib-{__version__}.tar.gz"
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = whl.namelist()
        meta = whl.read(f"scalinglib-{__version__}.dist-info/METADATA").decode()
    assert f"Version: {__version__}\n" in meta
    assert "License-Expression: MIT\n" in meta
    assert f"scalinglib-{__version__}.dist-info/licenses/LICENSE" in names
    # the data registries are package data: without them no download can be verified
    for reg in ("testbed", "external", "sardana", "ladder"):
        assert f"scalinglib/registry/{reg}.txt" in names
    assert "scalinglib/py.typed" in names  # PEP 561: the package's annotations are checked (mypy) and shipped
    assert not [n for n in names if n.startswith("tests/")]


def test_sdist_holds_what_a_downstream_packager_needs(dist):
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = [n for n in SDIST_MUST_HOLD if n not in names]
    assert not missing, missing
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/artifacts")]


def test_installed_wheel_prints_its_version_outside_the_repository(venv, tmp_path):
    where = _run(
        venv, str(venv / "bin" / "python"), "-c", "import scalinglib; print(scalinglib.__file__)", cwd=tmp_path
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout
    out = _run(venv, str(venv / "bin" / "scalinglib"), "--version", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"scalinglib {__version__}"


def test_installed_wheel_reproduces_the_headline_from_local_data(venv, data_dir, tmp_path):
    out = _run(
        venv,
        str(venv / "bin" / "scalinglib"),
        "reproduce",
        "--json",
        cwd=tmp_path,
        env={"SCALINGLIB_DATA": str(data_dir)},
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["dataset"] for r in rows} == {"c4_original", "rpj", "rw_original"}
    # the paper's over-trained 1.4B target (M = 80) is predicted within a few percent
    target = [r for r in rows if r["model"] == "open_lm_1b" and r["M"] == 80.0]
    assert target and all(abs(r["loss_rel_error"]) < 0.05 for r in target)


def test_installed_wheel_downloads_and_verifies_from_a_local_mirror(venv, serve, external_dir, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "data").mkdir(parents=True)
    (mirror / "data" / "svg_extracted_data.csv").write_bytes(
        (external_dir / "chinchilla_svg_extracted_data.csv").read_bytes()
    )
    server = serve(mirror)
    cache = tmp_path / "cache"
    env = {"SCALINGLIB_EXTERNAL_URL": server.url, "SCALINGLIB_CACHE": str(cache), "SCALINGLIB_EXTERNAL": ""}
    code = "import scalinglib.data as d; print(len(d.load_chinchilla_runs()))"
    out = _run(venv, str(venv / "bin" / "python"), "-c", code, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "245"
    assert server.requests("/data/svg_extracted_data.csv") == 1
    assert (cache / "external" / "data" / "svg_extracted_data.csv").is_file()
