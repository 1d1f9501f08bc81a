"""Make the built book load nothing from a CDN; serve MathJax from ``_static``.

Sphinx's ``sphinx.ext.mathjax`` loads MathJax 3 from jsDelivr by default, so a
book built with it cannot show maths offline.  The PyPI package
``jupyter-server-mathjax`` (a dependency of the ``book`` extra) ships the static
files of MathJax 2.7.  This extension, loaded through ``sphinx:
local_extensions:`` in ``_config.yml``:

1. copies the subset of those files that the ``TeX-AMS-MML_HTMLorMML-full``
   configuration needs (the combined config, the TeX input jax, the HTML-CSS
   output jax, its STIX-Web fonts, and the extensions loaded on demand) into a
   staging folder under the build directory, which is added to
   ``html_static_path`` so Sphinx copies it to ``_build/html/_static/mathjax``;
2. points ``mathjax_path`` at that local copy and passes a MathJax 2 page
   configuration (``mathjax2_config``) that renders the ``\\(...\\)`` and
   ``\\[...\\]`` delimiters Sphinx and MyST emit for ``$...$`` and ``$$...$$``,
   using only the fonts that are shipped;
3. switches off the MathJax 3 configuration that myst-parser would otherwise
   inject (it would be meaningless to MathJax 2);
4. adds a few lines of CSS: the pydata/sphinx-book theme styles every
   ``span.math`` for MathJax 3 (inline flex box, ``overflow: hidden``).
   MathJax 2's HTML-CSS output also uses ``span.math`` internally, and an
   inline block with ``overflow: hidden`` takes its baseline from its bottom
   edge, which lifts inline formulas above the line of text.

5. removes the assets of sphinx-thebe (added to every page by Jupyter Book)
   when Thebe is switched off in ``launch_buttons``: its inline script names
   a CDN URL and is emitted twice, which is a JavaScript error;
6. replaces the ``about:blank`` source of MathJax's internal ``MathJax_Blank``
   font (a CORS error in Chromium's console) by a ``local()`` source that
   fails silently in the same way.

The only assumption about the package is the layout of its ``static`` folder;
if it is missing the build stops with an explicit error instead of silently
falling back to the CDN.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from static_paths import add_static_dir  # book/_ext is on sys.path (local_extensions)

logger = logging.getLogger(__name__)

MATHJAX_CONFIG_NAME = "TeX-AMS-MML_HTMLorMML-full"
STAGE_DIRNAME = "offline_assets_static"

# Files and folders (relative to the MathJax root) that the combined config needs
# at run time.  The SVG output jax and the non-English localisations are left out.
NEEDED = [
    "MathJax.js",
    "LICENSE",
    f"config/{MATHJAX_CONFIG_NAME}.js",
    "extensions",
    "jax/input",
    "jax/element",
    "jax/output/HTML-CSS",
    "fonts/HTML-CSS/STIX-Web/woff",
    "localization/en",
]

# Classes MyST marks as "maths here" (myst_mathjax_classes default) and the class
# it puts on each document's top-level section to stop MathJax scanning prose.
PROCESS_CLASSES = "tex2jax_process|mathjax_process|math|output_area"
IGNORE_CLASSES = "tex2jax_ignore|mathjax_ignore|document"

MATHJAX2_CONFIG = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "processClass": PROCESS_CLASSES,
        "ignoreClass": IGNORE_CLASSES,
    },
    "TeX": {"equationNumbers": {"autoNumber": "none"}},
    # Always use the HTML-CSS output (identical look in every browser) ...
    "MMLorHTML": {"prefer": "HTML"},
    # ... with the STIX-Web web fonts, the only font set shipped by the package.
    "HTML-CSS": {
        "availableFonts": [],
        "preferredFont": None,
        "webFont": "STIX-Web",
        "imageFont": None,
        "scale": 90,
        "linebreaks": {"automatic": True},
        "styles": {
            "@font-face": {
                "font-family": "MathJax_Blank",
                "src": "local('MathJax_Blank_no_such_font')",
            }
        },
    },
    "showMathMenu": True,
    "messageStyle": "none",
}


# Undo the theme's MathJax-3 layout of inline maths (see point 4 above).
CSS_NAME = "offline_mathjax.css"
CSS = """\
/* Written by book/_ext/offline_mathjax.py: undo MathJax-3 rules of the
   theme that break MathJax 2's inline layout (baseline shift). */
span.math { display: inline; }
.MathJax span.math { overflow: visible; }
"""


def mathjax_source_dir() -> Path:
    try:
        import jupyter_server_mathjax
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ExtensionError(
            "offline_mathjax: the package 'jupyter-server-mathjax' is not installed; "
            "install the book extra: pip install -e '.[book]'"
        ) from exc
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (src / "MathJax.js").is_file():
        raise ExtensionError(f"offline_mathjax: no MathJax.js under {src}")
    return src


def _stage(src: Path, stage: Path) -> None:
    """Copy the needed MathJax files to ``stage/mathjax`` (idempotent)."""
    dest = stage / "mathjax"
    marker = dest / ".complete"
    version = (src / "MathJax.js").stat().st_mtime_ns
    if marker.is_file() and marker.read_text() == str(version):
        return
    if dest.exists():
        shutil.rmtree(dest)
    for rel in NEEDED:
        s, d = src / rel, dest / rel
        if s.is_dir():
            shutil.copytree(s, d)
        elif s.is_file():
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
        else:
            raise ExtensionError(f"offline_mathjax: missing {s}")
    marker.write_text(str(version))


def on_config_inited(app: Sphinx, config) -> None:
    config.mathjax_path = f"mathjax/MathJax.js?config={MATHJAX_CONFIG_NAME}"
    config.mathjax2_config = MATHJAX2_CONFIG
    config.mathjax3_config = None
    # myst-parser would otherwise write a MathJax 3 ``processHtmlClass`` option.
    config.myst_update_mathjax = False


def on_builder_inited(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    stage = Path(app.doctreedir).parent / STAGE_DIRNAME
    _stage(mathjax_source_dir(), stage)
    css = stage / CSS_NAME
    if not css.is_file() or css.read_text() != CSS:
        css.write_text(CSS)
    add_static_dir(app, stage)


def _thebe_enabled(app: Sphinx) -> bool:
    options = app.config.html_theme_options or {}
    buttons = options.get("launch_buttons") or {}
    return bool(buttons.get("thebe"))


def on_html_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    if _thebe_enabled(app):
        return

    def is_thebe(asset) -> bool:
        name = str(getattr(asset, "filename", asset) or "")
        body = str(getattr(asset, "attributes", {}).get("body", ""))
        return "sphinx-thebe" in name or "THEBE_JS_URL" in body or "unpkg.com/thebe" in name

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if not is_thebe(a)]


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", on_config_inited, priority=900)
    app.connect("builder-inited", on_builder_inited, priority=400)
    app.add_css_file(CSS_NAME)
    app.connect("html-page-context", on_html_page_context, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
