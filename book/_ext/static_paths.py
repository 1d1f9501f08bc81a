"""One place that adds a folder to the book's static files (``html_static_path``).

Sphinx copies every folder of ``html_static_path`` into ``_build/html/_static``. The
book's extensions (``book_style``: its stylesheet; ``offline_assets``: MathJax) each
serve a folder that way; both go through :func:`add_static_dir`, which appends the
folder once, at ``builder-inited``.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx


def add_static_dir(app: Sphinx, folder: Path) -> None:
    """Append ``folder`` to ``html_static_path`` unless it is already there."""
    static = list(app.config.html_static_path)
    if str(folder) not in static:
        static.append(str(folder))
    app.config.html_static_path = static
