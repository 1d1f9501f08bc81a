"""Each chapter in JupyterLab, as a student meets it: open it, Run All Cells, read it.

A JupyterLab server is started from this environment (``<venv>/bin/jupyter lab``) on
127.0.0.1, a free port and a random token, over a temporary copy of ``notebooks/`` (so
that nothing Lab saves touches the repository); its kernels import this checkout's
``scalinglib`` (``PYTHONPATH``) and read the data directories of ``conftest.py``.  For
every chapter, headless Chromium (Playwright) opens the notebook, waits for the kernel,
runs Run > Run All Cells, waits until every code cell has run and the kernel is idle,
and asserts that:

- no output is an error or other stderr output;
- every markdown cell was rendered by jupyterlab-myst (the renderer ``make book`` installs);
- no raw markup is left in the rendered text: no ``{role}`...``` and no directive fence
  (``:::{...}``, ```` ```{...} ````, ``:label:`` lines), no glue key (``{glue...}`` or an
  unevaluated ``glued.KEY``), no inline expression that failed or was never run;
- every link between pages points at a file that exists (a chapter's ``.ipynb``, the
  method page's ``.md``): the chapters write them as markdown links, not ``{doc}`` roles,
  which jupyterlab-myst turns into the page's name without its suffix;
- the only warning icons are the ``{cite}`` keys, each accounted for by the source:
  jupyterlab-myst 2.x reads no bibliography (ours is the book's, ``book/references.bib``).
  References to another page's equation or exercise carry the text the book shows
  (``tools/lab_refs.py``), so they render without an icon, and none may show one.

A screenshot of chapter 3 after Run All is saved in ``tests/artifacts/lab_03_predicting_loss.png``.
No browser is a failure, never a skip (see ``tests/find_browser.py``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import pytest
from find_browser import BrowserNotFound, find_chromium

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCREENSHOT_OF = "03_predicting_loss.ipynb"
# the book allows a chapter 600 s (_config.yml execution timeout); Run All in Lab gets the same
RUN_TIMEOUT_S = 600
STDERR = "application/vnd.jupyter.stderr"
# Lab renders only the cells in view unless told otherwise: render them all, so every
# markdown cell can be read after Run All; and no news pop-up over the screenshot.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab server: base URL, token and its REST API."""

    def __init__(self, url: str, token: str, process: subprocess.Popen, log: Path):
        self.url, self.token, self.process, self.log = url, token, process, log

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def kernels_idle(self) -> bool:
        try:
            kernels = self.api("kernels")
        except OSError:  # e.g. a 500 while the previous chapter's kernel shuts down: ask again
            return False
        return bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)

    def shut_down_kernels(self) -> None:
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def lab(tmp_path_factory, data_dir, external_dir, sardana_dir, ladder_dir):
    home = tmp_path_factory.mktemp("lab")
    for folder in ("notebooks", "book"):  # book/: the method page the chapters link to
        shutil.copytree(ROOT / folder, home / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = home / ".jupyter"
    for name, settings in LAB_SETTINGS.items():
        (config / "lab" / "user-settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (config / "lab" / "user-settings" / name).write_text(json.dumps(settings))
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        SCALINGLIB_DATA=str(data_dir),
        SCALINGLIB_EXTERNAL=str(external_dir),
        SCALINGLIB_SARDANA=str(sardana_dir),
        SCALINGLIB_LADDER=str(ladder_dir),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTERLAB_SETTINGS_DIR=str(config / "lab" / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(config / "lab" / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    jupyter = Path(sys.executable).with_name("jupyter")
    port, token = _free_port(), secrets.token_hex(16)
    log = home / "lab.log"
    cmd = [
        str(jupyter),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={home}",
        "--ServerApp.port_retries=0",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    with log.open("w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}", token, process, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.api("status")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start ({' '.join(cmd)}):\n{server.log_tail()}", pytrace=False)
                time.sleep(0.5)
        yield server
    finally:
        try:
            server.shut_down_kernels()
            server.api("shutdown", method="POST")
            process.wait(timeout=30)
        except (OSError, RuntimeError, ValueError, subprocess.SubprocessError):
            pass  # the server may already be gone; the kill below makes sure
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    try:
        chromium = find_chromium()
    except BrowserNotFound as exc:
        pytest.fail(str(exc), pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def _expected_warnings(nb: dict) -> dict[str, list[str]]:
    """The {cite} keys, as the icons show them: the only warnings jupyterlab-myst may show."""
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    cites = [k.strip() for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]*)`", md) for k in keys.split(",")]
    return {"Citation Not Found": cites}


_RAW = [
    (re.compile(r"\{[a-z][\w:-]*\}`"), "a raw role"),
    (re.compile(r"(:{3,}|`{3,})\s*\{[a-z]"), "a raw directive fence"),
    (re.compile(r":(label|class|name|open):\s"), "a raw directive option"),
    (re.compile(r"\bglued\.\w+"), "an unevaluated glue key"),
    (re.compile(r"\{glue"), "a glue role"),
]

# Text of the rendered markdown, folded solutions included (textContent, not innerText),
# without KaTeX's copy of each formula's TeX source; "prose" also without inline code.
_READ_PAGE = """() => {
  const text = (el, drop) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll(drop).forEach(e => e.remove());
    return copy.textContent;
  };
  const TEX = '.katex-mathml, annotation';
  const md = Array.from(document.querySelectorAll('.jp-Notebook .jp-MarkdownCell'));
  const code = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'));
  return {
    markdown: md.length,
    rendered: md.map(c => { const m = c.querySelector('.myst'); return m ? text(m, TEX) : null; }),
    prose: md.map(c => { const m = c.querySelector('.myst'); return m ? text(m, TEX + ', code') : ''; }),
    prompts: code.map(p => p.innerText.trim()),
    stderr: Array.from(document.querySelectorAll('.jp-Notebook .jp-OutputArea-output[data-mime-type="%s"]'))
               .map(e => e.textContent.slice(0, 2000)),
    inlineErrors: Array.from(document.querySelectorAll('.jp-MarkdownCell .myst [data-mime-type="%s"]'))
               .map(e => e.textContent),
    links: Array.from(document.querySelectorAll('.jp-MarkdownCell .myst a[href]'))
               .map(a => [a.getAttribute('href'), a.textContent.trim()]),
    warnings: Array.from(document.querySelectorAll('.jp-MarkdownCell .myst [title]'))
               .filter(e => /not found|unexecuted|unknown|error/i.test(e.title))
               .map(e => [e.title, e.textContent.trim()]),
  };
}""".replace("%s", STDERR)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_all_cells_in_jupyterlab_and_reads_as_in_the_book(lab, browser, path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    n_code = sum(c["cell_type"] == "code" for c in nb["cells"])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        # ?reset: a fresh workspace, so that the chapters opened before are not reopened
        page.goto(f"{lab.url}/lab/tree/notebooks/{path.name}?reset&token={lab.token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
        # The kernel indicator passes through idle -> initializing -> connecting -> idle while
        # the page connects; cells run before that are lost. Wait for two seconds of idle.
        deadline, idle_polls = time.monotonic() + 90, 0
        while idle_polls < 8:
            assert time.monotonic() < deadline, f"no idle kernel for {path.name}:\n{lab.log_tail()}"
            time.sleep(0.25)
            status = page.get_attribute(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator", "data-status")
            idle_polls = idle_polls + 1 if status == "idle" and lab.kernels_idle() else 0
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")

        # Done: every code cell numbered, the kernel idle three polls running, and no
        # expression left unevaluated (jupyterlab-myst sends a markdown cell's expressions
        # after parsing it, which can trail the code under load). If the expressions are
        # still pending at the deadline, the checks below say which.
        deadline, idle_polls, state, ran = time.monotonic() + RUN_TIMEOUT_S, 0, {}, False
        while idle_polls < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
            state = page.evaluate(_READ_PAGE)
            ran = len(state["prompts"]) == n_code and all(re.fullmatch(r"\[\d+\]:", p) for p in state["prompts"])
            pending = any(t is None or "glued." in t for t in state["rendered"])
            idle_polls = idle_polls + 1 if ran and not pending and lab.kernels_idle() else 0
        assert ran, f"{path.name}: Run All did not finish in {RUN_TIMEOUT_S} s; prompts {state.get('prompts')}"
        state = page.evaluate(_READ_PAGE)
        if path.name == SCREENSHOT_OF:
            ARTIFACTS.mkdir(exist_ok=True)
            page.evaluate("() => document.querySelector('.jp-WindowedPanel-outer')?.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / f"lab_{path.stem}.png"))
    finally:
        context.close()
        lab.shut_down_kernels()

    assert not state["stderr"], f"{path.name}: error output after Run All:\n" + "\n---\n".join(state["stderr"])
    assert None not in state["rendered"] and len(state["rendered"]) == state["markdown"], (
        f"{path.name}: markdown cells not rendered by jupyterlab-myst: "
        f"{[i for i, t in enumerate(state['rendered']) if t is None]}"
    )
    problems = [
        f"markdown cell {i}: {what}: {m.group(0)!r} in ...{text[max(0, m.start() - 60) : m.end() + 60]!r}..."
        for i, text in enumerate(state["rendered"])
        for pattern, what in _RAW
        for m in pattern.finditer(text)
    ]
    # a glue key left as text (a {glue:text} role renders as its key, "rpj_1b_rel:.2f");
    # inline code may name a variable of the same name
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for key in sorted(set(re.findall(r"(?:glued\.|\{glue(?::\w+)?\}`)(\w+)", md))):
        word = re.fullmatch(r"[a-z]+", key) is not None  # e.g. "missing": flag only as "missing:"
        pattern = re.compile(rf"\b{key}\b" + (":" if word else ""))
        problems += [
            f"markdown cell {i}: glue key {key!r} in ...{text[max(0, m.start() - 60) : m.end() + 60]!r}..."
            for i, text in enumerate(state["prose"])
            for m in pattern.finditer(text)
        ]
    problems += [f"inline expression failed: {e}" for e in state["inlineErrors"]]
    # Lab resolves a link to a file of its tree to {url}/files/<path>?_xsrf=...: that file must
    # exist, and every markdown link of the source to a file must be there
    files = f"{lab.url}/files/"
    to_files = [unquote(h[len(files) :].split("?")[0].split("#")[0]) for h, _ in state["links"] if h.startswith(files)]
    problems += [f"link to {rel!r}: no such file" for rel in to_files if not (ROOT / rel).is_file()]
    in_source = re.findall(r"(?<!!)\[[^\]]*\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)", md)
    if len(to_files) != len(in_source):
        problems.append(f"links to files: {to_files} rendered, the source has {in_source}")
    # a role whose text and <target> are split over two lines is not parsed as one by
    # jupyterlab-myst: it shows "text <target>" (tools/lab_refs.py joins such lines)
    problems += [
        f"link text with a raw <target>: {text!r}" for _, text in state["links"] if re.search(r"<[^<>]+>", text)
    ]
    expected = _expected_warnings(nb)
    seen: dict[str, list[str]] = {}
    for title, text in state["warnings"]:
        seen.setdefault(title, []).append(text)
    for title, texts in seen.items():
        if title not in expected:
            problems.append(f"warning icon {title!r} on {texts}")
    for title, labels in expected.items():
        if sorted(seen.get(title, [])) != sorted(labels):
            problems.append(f"{title!r} icons on {sorted(seen.get(title, []))}, expected exactly {sorted(labels)}")
    assert not problems, f"{path.name} after Run All in JupyterLab:\n  " + "\n  ".join(problems)
