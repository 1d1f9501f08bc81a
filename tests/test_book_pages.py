"""Static checks of the built book: every figure a chapter announces is in the page.

A chapter whose plotting cells ran but whose figures were not captured (for example
with a non-inline matplotlib backend in the kernel) still builds without a warning;
these tests catch it. They read ``_build/html`` (``make test`` builds it first) and
fail, not skip, when it is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML_DIR = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def _page(stem: str) -> str:
    page = HTML_DIR / "notebooks" / f"{stem}.html"
    assert page.is_file(), f"{page} is missing: build the book first (make book)"
    return page.read_text(encoding="utf-8")


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_announced_figure_of_a_chapter_is_an_image_in_the_page(stem):
    text = _page(stem)
    images = re.findall(r'<img[^>]+src="(?:\.\./)?_images/([^"]+)"', text)
    captions = set(re.findall(r"<strong>Figure (\d+)\.?</strong>", text))
    assert images, f"chapter {stem} has no figure image in its built page"
    assert len(images) >= len(captions), (
        f"chapter {stem} announces {len(captions)} figures but shows {len(images)} images"
    )
    for name in images:
        file = HTML_DIR / "_images" / name
        assert file.is_file() and file.stat().st_size > 1000, f"image {file} of chapter {stem} is missing or empty"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_no_cell_of_a_chapter_prints_to_stderr_or_shows_a_traceback(stem):
    text = _page(stem)
    for marker in ("Traceback (most recent call last)", "output stderr"):
        assert marker not in text, f"chapter {stem} shows {marker!r} in its built page"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_image_of_a_chapter_has_alt_text_that_describes_it_not_its_file(stem):
    text = _page(stem)
    imgs = [t for t in re.findall(r"<img\b[^>]*>", text) if "_images/" in t]  # the chapter's figures
    assert imgs, f"chapter {stem} has no figure image"
    for tag in imgs:
        alt = re.search(r'\balt="([^"]*)"', tag)
        assert alt is not None, f"chapter {stem}: image without alt text: {tag}"
        words = alt.group(1).strip()
        looks_like_path = (" " not in words and re.search(r"[/\\.]", words)) or re.search(
            r"\.(png|jpe?g|svg|gif)$|_images/", words
        )
        assert words and not looks_like_path, f"chapter {stem}: alt text {words!r} is a file path, not a description"
        assert len(words.split()) >= 4, f"chapter {stem}: alt text {words!r} says too little"


def builder_paths_in(text: str, root: Path = ROOT) -> list[str]:
    """The building machine's paths shown in a page: the repository's absolute path, or a
    relative path that climbs two or more levels (``../../x``) out of where it starts."""
    found = [repr(p) for p in sorted({str(root), str(root.resolve())}) if p in text]
    for match in re.finditer(r"(?:\.\./){2}", text):
        found.append("..." + text[max(0, match.start() - 50) : match.end() + 50].replace("\n", " ") + "...")
    return found


def test_builder_paths_in_finds_the_repository_path_and_paths_climbing_out_of_it():
    root = Path("/build/x/repo")
    assert builder_paths_in("$ scalinglib fit ../../../build/shared/t.csv", root)
    assert builder_paths_in("read /build/x/repo/notebooks/a.csv", root)
    assert not builder_paths_in('$ scalinglib fit ../shared/sardana/t.csv <a href="../_static/x.css">', root)


def test_no_built_page_shows_the_build_directory_or_a_path_climbing_out_of_the_repository():
    """Printed commands and outputs use the paths a reader types (relative to the
    repository, e.g. ``../shared/sardana/trainingresults.csv``, or ``$SCALINGLIB_SARDANA/...``),
    never the building machine's folders."""
    pages = sorted(HTML_DIR.rglob("*.html"))
    assert pages, f"no page in {HTML_DIR}: build the book first (make book)"
    found = [
        f"{page.relative_to(HTML_DIR)}: {hit}"
        for page in pages
        for hit in builder_paths_in(page.read_text(encoding="utf-8"))
    ]
    assert not found, "built pages show paths of the building machine:\n  " + "\n  ".join(found[:20])
