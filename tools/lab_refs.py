"""Give the chapters' references to other pages the text the book shows, for JupyterLab.

Usage::

    python tools/lab_refs.py [--check] [NOTEBOOK ...]

(default: every ``notebooks/*.ipynb``).  Idempotent: a second run changes nothing; re-run
it after an equation of ``book/method.md`` or an exercise is added, moved or removed.
``--check`` changes no file and exits with status 1 if any notebook would change
(``tests/test_lab_refs.py`` runs it).

Why: jupyterlab-myst resolves ``{eq}`` and ``{ref}`` only inside the notebook it renders
(it has no book, no other page), so a bare ``{eq}`eq-error``` to an equation of the method
page shows its label with a "Cross Reference Not Found" icon.  A reference given its own
text, ``{eq}`(3) <eq-error>```, renders in JupyterLab as that text, without an icon.  The
book is unchanged by it:

* ``{eq}``: Sphinx's math domain ignores the given text and writes the equation's
  number itself, so the book shows the number it computes even if this text is stale;
* ``{ref}`` to an exercise of another chapter: Sphinx uses the given text, which is what
  it writes for a bare reference ("Exercise 2.1"); the number is computed here the way
  the book numbers it (chapter number from ``_toc.yml``'s numbered parts, then the
  exercise's position in its chapter).

A role with a line break between its text and its ``<target>`` (a ``{term}`` wrapped
over two lines) is joined onto one line: jupyterlab-myst does not parse it as one role
and shows ``relative error <relative error>``.

Only targets on another page are rewritten (a chapter's own equations and exercises
resolve in JupyterLab); a ``{ref}`` with text of its own (``{ref}`method page <approach-3>```)
is left alone.  An ``{eq}`` to an equation of a numbered chapter is an error (its number
depends on Sphinx's section numbering, not reproduced here).  Citations (``{cite}``)
and glossary terms are not touched: see the README's JupyterLab section.  A
``{doc}`text <target>``` becomes a markdown link ``[text](target.ipynb)`` (or ``.md``)
relative to the chapter: myst-parser turns a link to a source file into the same internal
link as ``{doc}``, and JupyterLab opens the file (jupyterlab-myst makes a ``{doc}`` link
point at the target without its suffix, a file that does not exist).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

_EQ_LABEL = re.compile(r"^\$\$\s*\((\S+?)\)\s*$", re.MULTILINE)
_EXERCISE = re.compile(r"^(?::{3,}|`{3,})\{exercise(?:-start)?\}[^\n]*\n((?:[ \t]*:\w[\w-]*:.*\n)*)", re.MULTILINE)
_LABEL_OPT = re.compile(r"^[ \t]*:label:[ \t]*(\S+)", re.MULTILINE)
_ROLE = re.compile(r"\{(?P<role>eq|ref)\}`(?:(?P<text>[^`<]*?)\s*<(?P<target>[^`>]+)>|(?P<bare>[^`<>]+))`")
_EXERCISE_TEXT = re.compile(r"Exercise \d+(?:\.\d+)*")
_SPLIT_ROLE = re.compile(r"\{[a-z][\w:-]*\}`[^`<]*\n[^`<]*<[^`>]+>`")
_DOC = re.compile(r"\{doc\}`(?P<text>[^`<]*?)\s*<(?P<target>[^`>]+)>`")


def _markdown(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def _pages() -> list[tuple[Path, int | None]]:
    """Every page of the book with its chapter number (None on an unnumbered part)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages, n = [], 0
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            stem = ROOT / chapter["file"]
            path = next(p for p in (stem.with_suffix(".ipynb"), stem.with_suffix(".md")) if p.exists())
            if part.get("numbered"):
                n += 1
                pages.append((path, n))
            else:
                pages.append((path, None))
    return pages


def targets() -> tuple[dict[str, tuple[Path, str]], dict[str, tuple[Path, str]]]:
    """The book's equation and exercise labels: label -> (page, text the book shows)."""
    equations, exercises = {}, {}
    for path, chapter in _pages():
        md = _markdown(path)
        for i, label in enumerate(_EQ_LABEL.findall(md), start=1):
            equations[label] = (path, f"({i})" if chapter is None else "")
        if chapter is not None:
            for i, m in enumerate(_EXERCISE.finditer(md), start=1):
                label = _LABEL_OPT.search(m.group(1))
                if label:
                    exercises[label.group(1)] = (path, f"Exercise {chapter}.{i}")
    return equations, exercises


def rewrite(source: str, here: Path, equations: dict, exercises: dict) -> tuple[str, list[str]]:
    """The markdown ``source`` of page ``here`` with other-page references given their text."""
    errors: list[str] = []

    def sub(m: re.Match) -> str:
        role, target = m["role"], (m["target"] or m["bare"]).strip()
        text = (m["text"] or "").strip()
        if role == "eq" and target in equations and equations[target][0] != here:
            page, shown = equations[target]
            if not shown:
                errors.append(f"{{eq}}`{target}` points at {page.name}, a numbered chapter: not supported")
                return m.group(0)
            return f"{{eq}}`{shown} <{target}>`"
        if role == "ref" and target in exercises and exercises[target][0] != here:
            if text and not _EXERCISE_TEXT.fullmatch(text):
                return m.group(0)  # text of its own: left alone
            return f"{{ref}}`{exercises[target][1]} <{target}>`"
        return m.group(0)

    def link(m: re.Match) -> str:
        page = (here.parent / m["target"].strip()).resolve()
        found = [p for p in (page.with_suffix(".ipynb"), page.with_suffix(".md")) if p.exists()]
        if not found or not m["text"].strip():
            errors.append(f"{m.group(0)!r}: no such page, or no text: left alone")
            return m.group(0)
        rel = Path(os.path.relpath(found[0], here.parent)).as_posix()
        return f"[{' '.join(m['text'].split())}]({rel})"

    def join(m: re.Match) -> str:
        return re.sub(r"[ \t]*\n[ \t]*", " ", m.group(0))

    return _DOC.sub(link, _ROLE.sub(sub, _SPLIT_ROLE.sub(join, source))), errors


def convert(path: Path, check: bool = False) -> bool:
    """Rewrite one notebook (written back unless ``check``); return whether it changed."""
    equations, exercises = targets()
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = False
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell["source"])
        new, errors = rewrite(source, path.resolve(), equations, exercises)
        for e in errors:
            print(f"{path}: cell {i}: {e}", file=sys.stderr)
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
            changed = True
    if changed and not check:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a).resolve() for a in argv if a != "--check"] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    changed = [p for p in paths if convert(p, check=check)]
    for p in changed:
        print(f"{'would change' if check else 'rewrote'}: {p}")
    return 1 if (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
