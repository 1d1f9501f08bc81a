"""The GitHub workflows are valid and do what CONTRIBUTING.md and the README say.

Validity: ``check-jsonschema --builtin-schema vendor.github-workflows``, the schema
vendored inside the check-jsonschema package (SchemaStore's GitHub workflow schema), so
no network. Then what each workflow promises, read from its YAML: the tests run the
README's command, the book is deployed with the official Pages actions and the
permissions and concurrency they need, the style job runs the three guard rails, and a
release publishes by trusted publishing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
EXPECTED = ("book.yml", "release.yml", "style.yml", "tests.yml")


def _validate(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def _load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _uses(workflow: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in _steps(workflow) if "uses" in step]


def _runs(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for step in _steps(workflow))


def test_one_workflow_per_job_is_there():
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == list(EXPECTED)


def test_every_workflow_validates_against_the_github_workflow_schema():
    out = _validate(*(WORKFLOWS / name for name in EXPECTED))  # one process: each start costs seconds
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = yaml.safe_load((WORKFLOWS / "tests.yml").read_text())
    del broken["jobs"]["test"]["runs-on"]
    broken["permissions"] = {"contents": "readable"}
    bad = tmp_path / "broken.yml"
    bad.write_text(yaml.safe_dump(broken))
    assert _validate(bad).returncode != 0


def test_tests_workflow_runs_the_readmes_test_command_with_a_browser():
    wf = _load("tests.yml")
    runs = _runs(wf)
    assert "make test" in runs
    assert "make test" in (WORKFLOWS.parents[1] / "README.md").read_text()
    assert "playwright install --with-deps chromium" in runs
    assert "tools/fetch_data.py" in runs  # no ../shared on a runner: the verified download
    assert {"push", "pull_request"} <= set(wf["on"])


def test_book_workflow_deploys_to_pages_with_the_official_actions():
    wf = _load("book.yml")
    assert {"actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"} <= set(_uses(wf))
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert wf["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    upload = next(s for s in _steps(wf) if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert "make book" in _runs(wf)


def test_style_workflow_runs_the_three_guard_rails():
    runs = _runs(_load("style.yml"))
    for command in ("ruff check .", "ruff format --check .", "mypy"):
        assert command in runs
    assert '".[dev]"' in runs


def test_release_workflow_builds_on_tags_and_publishes_by_trusted_publishing():
    wf = _load("release.yml")
    assert wf["on"]["push"]["tags"] == ["v*"]
    assert "python -m build" in _runs(wf)
    publish = wf["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in publish["steps"])
    assert not any("password" in (s.get("with") or {}) for s in publish["steps"])  # no API token


def test_the_repository_is_named_in_one_place_the_fork_block_of_config():
    """A fork changes one block of _config.yml; no other file names the repository."""
    root = WORKFLOWS.parents[1]
    config = (root / "_config.yml").read_text()
    block = config.split("FORK OR PUBLISH", 1)[1].split("\n", 1)[1].split("# ====", 1)[0]
    url = yaml.safe_load(block)["repository"]["url"]
    assert url == yaml.safe_load(config)["repository"]["url"]
    skip = {".git", ".venv", "_build", "node_modules", "artifacts", "__pycache__", ".hypothesis"}
    naming = [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file()
        and not skip & set(p.relative_to(root).parts)
        and p.suffix in {".md", ".yml", ".yaml", ".py", ".ipynb", ".toml", ".cff", ".txt", ".cfg", ""}
        and url.split("://", 1)[1] in p.read_text(errors="replace")
    ]
    assert naming == ["_config.yml"], naming
    assert "FORK OR PUBLISH" in (root / "README.md").read_text()


def test_guard_rails_run_the_pinned_versions_before_the_tests():
    """pre-commit, make lint and .ci/run use the ruff and mypy of the dev extra, lint first."""
    root = WORKFLOWS.parents[1]
    # (no tomllib before Python 3.11) the dev extra's "name==version" lines
    dev = (root / "pyproject.toml").read_text().split("\ndev = [", 1)[1].split("]", 1)[0]
    pins = dict(re.findall(r'"([\w-]+)==([\w.]+)"', dev))
    assert set(pins) == {"ruff", "mypy"}, pins
    hooks = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())["repos"]
    ruff_repo = next(r for r in hooks if r["repo"].endswith("/ruff-pre-commit"))
    assert ruff_repo["rev"] == f"v{pins['ruff']}"
    assert {h["id"] for h in ruff_repo["hooks"]} == {"ruff-check", "ruff-format"}
    assert any(h["id"] == "mypy" for r in hooks for h in r["hooks"])
    makefile = (root / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    for command in ('ruff" check .', 'ruff" format --check .', 'mypy"'):
        assert command in lint, command
    ci = (root / ".ci" / "run").read_text()
    assert ci.index("make lint") < ci.index("make test")
