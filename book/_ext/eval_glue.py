"""The chapters' ``{eval}`` roles, resolved from glued outputs so the book keeps its cache.

Loaded through ``sphinx: local_extensions:`` in ``_config.yml``.

The chapters quote computed numbers as ``{eval}`f"{glued.KEY:SPEC}"``` or
``{eval}`glued.KEY```, where ``glued`` is the object ``scalinglib.plotting.glue`` fills
in the kernel.  In JupyterLab, jupyterlab-myst evaluates these expressions in the
kernel.  myst-nb's own ``{eval}`` would do the same in the book, but only with
``nb_execution_mode: inline``: no jupyter-cache (every build re-executes every changed
page, even for a prose edit) and no forward references (a chapter's opening could not
quote a number computed further down, which glue allows).  This role instead reads the
expression as the glue reference it stands for, ``{glue:text}`KEY:SPEC```, and pastes the
value glued under ``KEY`` by the cached execution, formatted with ``SPEC``; the number is
the same one the kernel computes in JupyterLab.

Only those two forms are accepted; any other expression is a build warning (an error
under ``-W``), since the book has no kernel to evaluate it in.
"""

from __future__ import annotations

import re

from docutils import nodes
from myst_nb.core.variables import create_warning
from myst_nb.ext.glue.roles import PasteTextRole
from sphinx.application import Sphinx

_FORMS = (
    re.compile(r'^f"\{glued\.(?P<key>[A-Za-z_]\w*)(?::(?P<spec>[^{}"]+))?\}"$'),
    re.compile(r"^glued\.(?P<key>[A-Za-z_]\w*)$"),
)


def glue_reference(expression: str) -> str | None:
    """``KEY:SPEC`` (or ``KEY``) for an accepted ``{eval}`` expression, else None."""
    for form in _FORMS:
        m = form.match(expression.strip())
        if m:
            spec = m.groupdict().get("spec")
            return f"{m['key']}:{spec}" if spec else m["key"]
    return None


class EvalGlueRole(PasteTextRole):
    """``{eval}`` for the expressions of :data:`_FORMS`, pasted from glue data."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        ref = glue_reference(self.text)
        if ref is None:
            msg = (
                f"{{eval}} expression {self.text!r} is not of the form "
                'f"{glued.KEY:SPEC}" or glued.KEY, which the book resolves from glued values'
            )
            return [], [create_warning(msg, self.document, self.line, subtype="eval")]
        self.text = ref
        return super().run()


def setup(app: Sphinx) -> dict:
    # after myst_nb (jupyter-book loads local extensions last), replacing its inline-mode role
    app.add_role("eval", EvalGlueRole(), override=True)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
