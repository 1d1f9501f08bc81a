"""Ship the book's own stylesheet (``book/_ext/static/book.css``) with every page.

Loaded through ``sphinx: local_extensions:`` in ``_config.yml``. The stylesheet is
served from the book's ``_static`` folder like every other asset (nothing from a CDN).
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from static_paths import add_static_dir  # book/_ext is on sys.path (local_extensions)

STATIC = Path(__file__).resolve().parent / "static"
CSS_NAME = "book.css"


def on_builder_inited(app: Sphinx) -> None:
    add_static_dir(app, STATIC)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", on_builder_inited)
    app.add_css_file(CSS_NAME)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
