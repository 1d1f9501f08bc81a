"""The built book works when served from a sub-path, as GitHub Pages serves a project.

GitHub Pages publishes a repository's book at ``https://OWNER.github.io/REPO/``: every
link, image, stylesheet, script (MathJax included) and the search index must be found
under ``/REPO/``, never at the server's root. Here ``_build/html`` is served at
``http://127.0.0.1:PORT/some-repo/`` by a server that answers 404 to anything outside
that prefix and records it, and headless Chromium opens every page there. Each page
must load with:

- no request outside the prefix (checked in the browser, where such requests are
  aborted, and in the server's record);
- no failed request, no HTTP error, no console error, no uncaught exception;
- every image and stylesheet loaded, and MathJax finished with every formula typeset;
- every link to this server pointing inside the prefix.

The search page must find a word of the book and link its results inside the prefix.
Uses the browser and the page list of ``tests/test_browser.py``; build the book first
(``make book``).
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse

import pytest
from find_browser import BrowserNotFound, find_chromium
from test_browser import _IMAGES, _WAIT_FOR_MATHJAX, CHROMIUM_ARGS, HTML_DIR, MATHJAX_TIMEOUT_MS, MISSING_BUILD, PAGES

PREFIX = "/some-repo/"

_STYLESHEETS = """
() => Array.from(document.querySelectorAll('link[rel="stylesheet"]')).map((link) => {
  let rules = -1;
  try { rules = link.sheet ? link.sheet.cssRules.length : -1; } catch (e) { rules = -2; }
  return {href: link.href, loaded: !!link.sheet, rules};
})
"""

_MATH_DONE = """
() => {
  const sources = document.querySelectorAll('span.math.notranslate, div.math.notranslate');
  const rendered = 'mjx-container, .MathJax, .MathJax_Display, .MathJax_CHTML, .MathJax_SVG';
  const missing = Array.from(sources).filter((el) => !el.querySelector(rendered)).length;
  return {count: sources.length, missing};
}
"""


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the book under PREFIX only; anything else is a 404, recorded in ``outside``."""

    outside: list[str]

    def _inside(self) -> bool:
        if urllib.parse.urlsplit(self.path).path.startswith(PREFIX):
            return True
        self.outside.append(self.path)
        self.send_error(404, "outside the site's sub-path")
        return False

    def do_GET(self):
        if self._inside():
            super().do_GET()

    def do_HEAD(self):
        if self._inside():
            super().do_HEAD()

    def translate_path(self, path):
        path = urllib.parse.urlsplit(path).path
        return super().translate_path("/" + path[len(PREFIX) :] if path.startswith(PREFIX) else path)

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """(base URL ending in PREFIX, the list of requests the server refused)."""
    if not PAGES:
        pytest.fail(MISSING_BUILD)
    outside: list[str] = []
    handler = type("Handler", (_SubPathHandler,), {"outside": outside})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(HTML_DIR)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}", outside
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


def _open(browser, base: str, path: str):
    """Open base + path; return (page, context, problems) with every request watched."""
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 1000})

    def route(r):
        url = r.request.url
        if url.startswith((base, "data:", "blob:", "about:")):
            r.continue_()
        else:
            problems.append(f"request outside {PREFIX}: {url}")
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"uncaught JavaScript error: {exc}"))
    page.on(
        "requestfailed",
        lambda req: problems.append(f"request failed: {req.url} ({req.failure})") if req.url.startswith(base) else None,
    )
    page.on("response", lambda resp: problems.append(f"HTTP {resp.status}: {resp.url}") if resp.status >= 400 else None)
    page.goto(base + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, context, problems


@pytest.mark.parametrize("page_path", PAGES or ["<book not built>"])
def test_page_loads_entirely_from_the_sub_path(page_path, site, browser):
    base, outside = site
    before = len(outside)
    page, context, problems = _open(browser, base, page_path)
    try:
        mathjax = page.evaluate(_WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
        math = page.evaluate(_MATH_DONE)
        if math["count"]:
            if mathjax != "typeset":
                problems.append(f"MathJax {mathjax} on a page with {math['count']} formulas")
            if math["missing"]:
                problems.append(f"{math['missing']} of {math['count']} formulas not typeset")
        for img in page.evaluate(_IMAGES):
            if not img["complete"] or img["width"] == 0:
                problems.append(f"image did not load: {img['src']}")
        sheets = page.evaluate(_STYLESHEETS)
        if not sheets:
            problems.append("no stylesheet on the page")
        for sheet in sheets:
            if not sheet["loaded"] or sheet["rules"] == -1:
                problems.append(f"stylesheet did not load: {sheet['href']}")
        origin = base[: -len(PREFIX) + 1]
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
            if href.startswith(origin) and not href.startswith(base):
                problems.append(f"link outside {PREFIX}: {href}")
    finally:
        context.close()
    problems += [f"server refused (outside {PREFIX}): {p}" for p in outside[before:]]
    assert not problems, f"{page_path}:\n  " + "\n  ".join(sorted(set(problems)))


def test_search_page_finds_a_word_of_the_book_inside_the_sub_path(site, browser):
    base, outside = site
    before = len(outside)
    page, context, problems = _open(browser, base, "search.html?q=overtraining")
    try:
        page.wait_for_selector("#search-results li, .search li", timeout=30_000)
        links = page.eval_on_selector_all("#search-results li a, .search li a", "els => els.map(a => a.href)")
    finally:
        context.close()
    assert links, "the search returned no result"
    assert all(link.startswith(base) for link in links), links
    problems += [f"server refused (outside {PREFIX}): {p}" for p in outside[before:]]
    assert not problems, "\n".join(problems)
