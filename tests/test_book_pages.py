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
