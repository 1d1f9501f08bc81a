"""Open every page of the built book in headless Chromium and check it as a reader would.

For each HTML page under ``_build/html`` (served from 127.0.0.1 by a local HTTP
server) this asserts that:

- no request leaves the local server (the book must work offline: no CDN);
- no request fails and no response is an HTTP error;
- there are no JavaScript errors (console errors or uncaught exceptions);
- every ``<img>`` has loaded (``naturalWidth > 0``);
- on pages with maths, MathJax has typeset every formula, reported no TeX
  error, and no raw ``$$``, ``\\(`` or ``\\[`` is left in the visible text;
- every link to the same origin resolves with HTTP 200, and its ``#fragment``,
  if any, names an element of the target page.

Screenshots of the landing page and of the Figure-1 chapter are saved in
``tests/artifacts/``.

Uses the ``playwright`` Python package with a Chromium-family browser found by
``tests/find_browser.py`` (``CHROMIUM``, then ``chromium``, ``chromium-browser``,
``google-chrome``, ``google-chrome-stable`` on ``PATH``, then a Playwright-installed
Chromium). No browser is a failure, never a skip.

Build the book first (``make book``; ``make test`` does it): if ``_build/html``
is missing the tests fail rather than skip.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from find_browser import BrowserNotFound, find_chromium

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LANDING_PAGE = "book/intro.html"
SCREENSHOTS = {
    LANDING_PAGE: "landing.png",
    "notebooks/03_predicting_loss.html": "figure1_chapter.png",
}
# Folders of the build that hold assets and templates rather than pages.
NOT_PAGES = ("_static", "_sources", "_images", "_downloads")
MATHJAX_TIMEOUT_MS = 30_000


def _built_pages() -> list[str]:
    if not (HTML_DIR / "index.html").is_file():
        return []
    pages = []
    for path in sorted(HTML_DIR.rglob("*.html")):
        rel = path.relative_to(HTML_DIR).as_posix()
        if rel.split("/", 1)[0] in NOT_PAGES:
            continue
        pages.append(rel)
    return pages


PAGES = _built_pages()
MISSING_BUILD = (
    f"the built book is missing ({HTML_DIR / 'index.html'} does not exist): "
    "run `make book` (or `make test`, which builds it first)"
)


# --------------------------------------------------------------------------- fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def server():
    if not PAGES:
        pytest.fail(MISSING_BUILD)
    handler = functools.partial(_QuietHandler, directory=str(HTML_DIR))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not PAGES:
        pytest.fail(MISSING_BUILD)
    try:
        chromium = find_chromium()
    except BrowserNotFound as exc:
        pytest.fail(str(exc), pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def link_checker(server):
    return _LinkChecker(server)


# --------------------------------------------------------------------------- link checks


class _IdCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


class _LinkChecker:
    """HTTP status and element ids of same-origin URLs, each fetched once."""

    def __init__(self, base: str):
        self.base = base
        self._status: dict[str, int] = {}
        self._ids: dict[str, set[str]] = {}

    def _fetch(self, url: str) -> None:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                self._status[url] = resp.status
                body = resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            self._status[url] = err.code
            return
        if "html" in ctype:
            parser = _IdCollector()
            parser.feed(body.decode("utf-8", errors="replace"))
            self._ids[url] = parser.ids

    def problems(self, href: str) -> str | None:
        url, _, fragment = href.partition("#")
        if url not in self._status:
            self._fetch(url)
        status = self._status[url]
        if status != 200:
            return f"{href}: HTTP {status}"
        fragment = urllib.parse.unquote(fragment)
        if fragment and url in self._ids and fragment not in self._ids[url]:
            return f"{href}: no element with id {fragment!r} in the target page"
        return None


# --------------------------------------------------------------------------- page checks

_WAIT_FOR_MATHJAX = """
(timeoutMs) => new Promise((resolve) => {
  // Poll rather than hook: robust to MathJax having finished before we ask.
  const t0 = Date.now();
  const poll = () => {
    const mj = window.MathJax;
    if (!mj) { resolve('absent'); return; }
    let state = null;
    if (mj.Hub && mj.Hub.Startup && mj.Hub.queue) {            // MathJax 2
      const posted = (mj.Hub.Startup.signal.posted || []).map(String);
      if (posted.includes('End') && !mj.Hub.queue.pending && !mj.Hub.queue.running) state = 'typeset';
    } else if (mj.startup && mj.startup.promise && mj.typesetPromise) {  // MathJax 3
      mj.startup.promise.then(() => resolve('typeset'));
      return;
    }
    if (state) resolve(state);
    else if (Date.now() - t0 > timeoutMs) resolve('timeout');
    else setTimeout(poll, 100);
  };
  poll();
})
"""

_IMAGES = """
() => Array.from(document.images).map((img) => ({
  src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth,
}))
"""

_MATH = """
() => {
  // Maths written by Sphinx/MyST: the wrappers carry the class "notranslate".
  const sources = Array.from(document.querySelectorAll('span.math.notranslate, div.math.notranslate'));
  const rendered = 'mjx-container, .MathJax, .MathJax_Display, .MathJax_CHTML, .MathJax_SVG';
  const unrendered = sources.filter((el) => !el.querySelector(rendered))
                            .map((el) => el.textContent.trim().slice(0, 80));
  const errors = Array.from(document.querySelectorAll(
      '.MathJax_Error, .MathJax .merror, .MathJax .noError, mjx-merror'))
      .map((el) => el.textContent.trim().slice(0, 80));
  // Visible text outside code: raw TeX delimiters mean MathJax did not process it.
  const skip = 'pre, code, script, style, textarea, .highlight, .MathJax_Preview, .MJX_Assistive_MathML, mjx-assistive-mml';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const parent = n.parentElement;
    if (!parent || parent.closest(skip)) continue;
    if (!parent.offsetParent && getComputedStyle(parent).position !== 'fixed') continue;  // hidden
    const t = n.textContent;
    if (t.includes('$$') || t.includes('\\\\(') || t.includes('\\\\[') || t.includes('\\\\begin{')) {
      raw.push(t.trim().slice(0, 80));
    }
  }
  return {count: sources.length, rendered: document.querySelectorAll(rendered).length,
          unrendered, errors, raw};
}
"""

_LINKS = """
() => Array.from(document.querySelectorAll('a[href]')).map((a) => a.href)
"""


def _same_origin(url: str, base: str) -> bool:
    return url == base or url.startswith(base + "/")


@pytest.mark.parametrize("page_path", PAGES or ["<book not built>"])
def test_page(page_path, server, browser, link_checker):
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        external: list[str] = []

        def route(r):
            url = r.request.url
            if _same_origin(url, server) or url.startswith(("data:", "blob:", "about:")):
                r.continue_()
            else:
                external.append(url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on(
            "console",
            lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: problems.append(f"uncaught JavaScript error: {exc}"))
        page.on(
            "requestfailed",
            lambda req: (
                problems.append(f"request failed: {req.url} ({req.failure})") if _same_origin(req.url, server) else None
            ),
        )
        page.on(
            "response",
            lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}") if resp.status >= 400 else None,
        )

        page.goto(f"{server}/{page_path}", wait_until="load")
        page.wait_for_load_state("networkidle")
        mathjax = page.evaluate(_WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
        if mathjax == "timeout":
            problems.append(f"MathJax did not finish typesetting within {MATHJAX_TIMEOUT_MS} ms")
        page.wait_for_load_state("networkidle")

        for url in external:
            problems.append(f"request to a remote host (the book must work offline): {url}")

        for img in page.evaluate(_IMAGES):
            if not img["complete"] or img["width"] == 0:
                problems.append(f"image did not load: {img['src']}")

        math = page.evaluate(_MATH)
        if math["count"]:
            if mathjax == "absent":
                problems.append(f"{math['count']} formulas but MathJax is not loaded")
            if not math["rendered"]:
                problems.append("no MathJax output on a page with maths")
            for tex in math["unrendered"]:
                problems.append(f"formula not typeset: {tex!r}")
        for tex in math["errors"]:
            problems.append(f"TeX error: {tex!r}")
        for text in math["raw"]:
            problems.append(f"raw TeX visible: {text!r}")

        seen = set()
        for href in page.evaluate(_LINKS):
            if not _same_origin(href, server) or href in seen:
                continue
            seen.add(href)
            issue = link_checker.problems(href)
            if issue:
                problems.append(f"broken link {issue}")

        if page_path in SCREENSHOTS:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / SCREENSHOTS[page_path]), full_page=True)
    finally:
        context.close()

    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


def test_book_has_expected_pages():
    """The landing page, the method and every chapter of _toc.yml were built."""
    if not PAGES:
        pytest.fail(MISSING_BUILD)
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [ch["file"] for ch in part.get("chapters", [])]
    missing = [f for f in files if f"{f}.html" not in PAGES]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"
    assert "index.html" in PAGES


def test_screenshots_saved(server, browser):
    """Runs after the page tests (file order); the two screenshots exist."""
    missing = [name for name in SCREENSHOTS.values() if not (ARTIFACTS / name).is_file()]
    if missing:
        # Take them now (for example when the page tests were deselected).
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            for path, name in SCREENSHOTS.items():
                page.goto(f"{server}/{path}", wait_until="load")
                page.evaluate(_WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        finally:
            context.close()
    for name in SCREENSHOTS.values():
        assert (ARTIFACTS / name).stat().st_size > 0


# --- Teaching pages: exercises, folded solutions, glossary links -------------


@pytest.fixture
def page(browser):
    """A page in a fresh browser context, closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


EXERCISE_PAGE = "notebooks/03_predicting_loss.html"


def test_exercises_render_and_solutions_open_on_click(server, page):
    """A chapter's exercises are numbered admonitions; each solution starts folded and opens on a click."""
    page.goto(f"{server}/{EXERCISE_PAGE}", wait_until="load")
    page.wait_for_load_state("networkidle")
    titles = page.locator("div.exercise > .admonition-title").all_inner_texts()
    assert len(titles) >= 2, titles
    assert all(t.strip().startswith("Exercise") for t in titles), titles
    solutions = page.locator("div.solution.dropdown")
    assert solutions.count() >= 2
    coding = 0
    for i in range(solutions.count()):
        sol = solutions.nth(i)
        body = sol.locator(":scope > :not(.admonition-title)").first
        assert "toggle-hidden" in (sol.get_attribute("class") or ""), f"solution {i} not folded"
        assert not body.is_visible(), f"solution {i} is visible before a click"
        sol.locator(":scope > .admonition-title button.toggle-button").click()
        body.wait_for(state="visible", timeout=5000)
        assert "toggle-hidden" not in (sol.get_attribute("class") or "")
        if sol.locator(".cell_output").count():  # a gated solution: its code ran at build time
            coding += 1
            assert sol.locator(".cell_output").first.is_visible()
    assert coding >= 1, "no solution with executed code on the exercise page"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("div.solution.dropdown").first.screenshot(path=str(ARTIFACTS / "solution_open.png"))


def test_glossary_links_of_every_chapter_resolve_to_a_glossary_entry(server, page):
    """Every {term} link of a chapter points at a term defined on the glossary page."""
    page.goto(f"{server}/book/glossary.html", wait_until="load")
    terms = set(page.eval_on_selector_all("dl.glossary dt[id]", "els => els.map(e => e.id)"))
    assert len(terms) >= 15, terms
    chapters = [p for p in PAGES if p.startswith("notebooks/")]
    assert chapters
    for path in chapters:
        page.goto(f"{server}/{path}", wait_until="load")
        hrefs = page.eval_on_selector_all("a:has(span.std-term)", "els => els.map(e => e.getAttribute('href'))")
        assert hrefs, f"{path}: no glossary link"
        for href in hrefs:
            target, _, frag = href.partition("#")
            assert target.endswith("book/glossary.html"), f"{path}: {href}"
            assert frag in terms, f"{path}: {href} names no glossary entry"


def test_teachers_page_links_every_exercise(server, page):
    """The teachers' page cross-references exercises, and each link lands on an exercise."""
    page.goto(f"{server}/book/teachers.html", wait_until="load")
    hrefs = sorted(
        set(
            page.eval_on_selector_all(
                "a.reference.internal[href*='#ex-']", "els => els.map(e => e.getAttribute('href'))"
            )
        )
    )
    assert len(hrefs) >= 24, hrefs
    base = f"{server}/book/teachers.html"
    for href in hrefs:
        url = urllib.parse.urljoin(base, href)
        page.goto(url, wait_until="load")
        frag = url.partition("#")[2]
        cls = page.eval_on_selector(f"[id='{frag}']", "e => e.className")
        assert "exercise" in cls, f"{href} lands on {cls!r}, not an exercise"
