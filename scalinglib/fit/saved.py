r"""Saved fits: a fit (and its bootstrap replicates) as a versioned, checksummed JSON file.

:meth:`FitResult.save <scalinglib.fit.FitResult.save>` (or :func:`save_fit`) writes one
JSON object; :func:`load_fit` reads it back as a :class:`SavedFit`. The document holds

* ``format`` (``"scalinglib-fit"``), ``format_version`` (:data:`FORMAT_VERSION`) and
  ``library_version`` (the ``scalinglib`` that wrote it);
* ``law`` (``"overtraining"``, ``"chinchilla"``, ``"compute"`` or ``"error"``) and its
  ``params`` by the names of the paper;
* ``objective``, ``delta`` (Huber threshold or null) and ``search_box``;
* ``runs``: the fitted inputs by name (e.g. ``C`` and ``M``), the observations ``y``,
  the law at the inputs and the residuals, so that the fitted ranges and the residual
  spread are known to whoever loads the file;
* ``diagnostics``: SSE, objective value, exponents on the edge of the box, active
  constraints, identifiability, notes;
* ``source``: what the runs were read from (file, columns), or null;
* ``bootstrap``: null, or the replicates of every parameter with method, level, seed,
  the count of redrawn resamples and the notes;
* ``checksum``: ``"sha256:"`` and the SHA-256 of the canonical JSON of everything else
  (keys sorted, no spaces, ``json.dumps(..., sort_keys=True, separators=(",", ":"))``).

Numbers are written with Python's shortest round-trip representation, so a loaded fit
is the fit in memory bit for bit: its law predicts exactly the same doubles.

:func:`load_fit` refuses, with a :class:`SavedFitError` (a
:class:`~scalinglib.fit.FitError`) whose one-line message names the file and the
problem: a file that cannot be read, invalid JSON, a document that is not a saved fit,
a newer format version, a missing or mistyped field, an unknown law, a checksum that
does not match (the file was edited), a non-finite number, arrays of different lengths.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .problem import N_PARAMS, SPECS
from .result import FitError, FitResult

if TYPE_CHECKING:
    from ..uncertainty import Bootstrap

__all__ = ["FORMAT", "FORMAT_VERSION", "SavedFit", "SavedFitError", "fit_document", "load_fit", "save_fit"]

#: Value of the ``format`` field of every saved fit.
FORMAT = "scalinglib-fit"
#: The version written (and the newest read) by this library.
FORMAT_VERSION = 1

_KIND_OF_CLASS = {s.law.__name__: kind for kind, s in SPECS.items()}


class SavedFitError(FitError):
    """A saved fit that cannot be loaded; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)  # holds arrays
class SavedFit:
    """A fit read from a file by :func:`load_fit`.

    Attributes
    ----------
    path
        The file read.
    result
        The fit itself (law, runs, residuals, diagnostics), as :func:`~scalinglib.fit.fit_law` returned it.
    bootstrap
        Its bootstrap replicates (a :class:`~scalinglib.uncertainty.Bootstrap`), or None.
    level
        The interval level the fit was saved with (``fit --level``), or None.
    source
        What the runs were read from (``file``, ``columns``, ``derived``), or None.
    library_version, format_version
        Who wrote the file, and in which format.
    """

    path: Path
    result: FitResult
    bootstrap: Bootstrap | None = None
    level: float | None = None
    source: dict | None = field(default=None)
    library_version: str = ""
    format_version: int = FORMAT_VERSION

    @property
    def kind(self) -> str:
        """``"overtraining"``, ``"chinchilla"``, ``"compute"`` or ``"error"``."""
        return _KIND_OF_CLASS[type(self.result.law).__name__]

    @property
    def law(self):
        return self.result.law

    def __repr__(self) -> str:
        boot = f", {self.bootstrap.n_boot} {self.bootstrap.method} replicates" if self.bootstrap is not None else ""
        return f"SavedFit({str(self.path)!r}: {self.result!r}{boot})"


# ----------------------------------------------------------------------------- writing


def _floats(a) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def fit_document(
    result: FitResult,
    bootstrap: Bootstrap | None = None,
    *,
    level: float | None = None,
    source: Mapping[str, Any] | None = None,
) -> dict:
    """The saved-fit document of ``result`` (see the module docstring), checksum included."""
    name = type(result.law).__name__
    if name not in _KIND_OF_CLASS:
        raise FitError(f"cannot save a fit of {name}")
    kind = _KIND_OF_CLASS[name]
    from .. import __version__

    doc: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "law": kind,
        "params": {k: float(v) for k, v in result.law.params.items()},
        "objective": result.objective,
        "delta": None if result.delta is None else float(result.delta),
        "search_box": {k: [float(lo), float(hi)] for k, (lo, hi) in result.search_box.items()},
        "runs": {
            "inputs": {k: _floats(v) for k, v in result.inputs.items()},
            "y": _floats(result.y),
            "predicted": _floats(result.predicted),
            "residuals": _floats(result.residuals),
        },
        "diagnostics": {
            "sse": float(result.sse),
            "objective_value": float(result.objective_value),
            "on_edge": list(result.on_edge),
            "active_constraints": list(result.active_constraints),
            "identified": bool(result.identified),
            "notes": list(result.notes),
        },
        "source": None if source is None else dict(source),
        "bootstrap": None,
    }
    if bootstrap is not None:
        if bootstrap.law != name:
            raise FitError(f"the bootstrap is of {bootstrap.law}, the fit of {name}")
        doc["bootstrap"] = {
            "method": bootstrap.method,
            "seed": bootstrap.seed,
            "level": level,
            "n_boot": bootstrap.n_boot,
            "n_redrawn": int(bootstrap.n_redrawn),
            "n_on_edge": int(bootstrap.n_on_edge),
            "n_active": int(bootstrap.n_active),
            "notes": list(bootstrap.notes),
            "point": {k: float(v) for k, v in bootstrap.point.items()},
            "samples": {k: _floats(v) for k, v in bootstrap.samples.items()},
        }
    doc["checksum"] = _checksum(doc)
    return doc


def _checksum(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_fit(
    result: FitResult,
    path: str | os.PathLike,
    bootstrap: Bootstrap | None = None,
    *,
    level: float | None = None,
    source: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``result`` (and its bootstrap replicates) to ``path`` as JSON; return the path.

    Raises
    ------
    FitError
        If a number of the fit is not finite (JSON has no NaN or infinity).
    """
    doc = fit_document(result, bootstrap, level=level, source=source)
    path = Path(path)
    try:
        text = json.dumps(doc, indent=1, allow_nan=False)
    except ValueError:
        raise FitError(f"{path}: cannot save a fit with a NaN or infinite number") from None
    path.write_text(text + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Typed access to the fields of a document; every problem is a SavedFitError naming the file."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, problem: str) -> SavedFitError:
        return SavedFitError(f"{self.path}: {problem}")

    def get(self, obj: Mapping, key: str, where: str, kinds: tuple[type, ...]) -> Any:
        if key not in obj:
            raise self.fail(f"not a valid saved fit: missing field {where}{key!r}")
        v = obj[key]
        if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
            raise self.fail(f"not a valid saved fit: field {where}{key!r} has the wrong type ({type(v).__name__})")
        return v

    def number(self, v: Any, where: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(f"not a valid saved fit: {where} is not a number ({type(v).__name__})")
        try:
            x = float(v)
        except OverflowError:  # an integer beyond the range of doubles
            x = math.inf
        if not math.isfinite(x):
            raise self.fail(f"non-finite number in {where}")
        return x

    def array(self, v: Any, where: str) -> np.ndarray:
        if not isinstance(v, list):
            raise self.fail(f"not a valid saved fit: {where} is not a list of numbers")
        return np.array([self.number(x, f"{where}[{i}]") for i, x in enumerate(v)], dtype=float)

    def numbers(self, obj: Mapping, names: tuple[str, ...], where: str) -> dict[str, float]:
        if set(obj) != set(names):
            raise self.fail(f"not a valid saved fit: {where} has {sorted(obj)}, expected {list(names)}")
        return {n: self.number(obj[n], f"{where}[{n!r}]") for n in names}


def _parse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def load_fit(path: str | os.PathLike) -> SavedFit:
    """Read a fit written by :func:`save_fit` (``scalinglib fit --save``).

    Returns
    -------
    SavedFit
        ``.result`` predicts exactly as the fit that was saved; ``.bootstrap`` holds the
        replicates when the fit was bootstrapped.

    Raises
    ------
    SavedFitError
        One line naming the file and the problem (see the module docstring).
    """
    path = Path(path)
    rd = _Reader(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise rd.fail("file not found") from None
    except IsADirectoryError:
        raise rd.fail("not a regular file") from None
    except UnicodeDecodeError as exc:
        raise rd.fail(f"not a saved fit: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise rd.fail(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise rd.fail(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # NaN / Infinity, or an integer too long to parse
        raise rd.fail(f"invalid JSON: non-finite number ({exc})") from None
    except RecursionError:
        raise rd.fail("invalid JSON: nested too deeply") from None
    try:
        return _from_document(doc, rd)
    except SavedFitError:
        raise
    except (
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        OverflowError,
    ) as exc:  # a safety net for shapes not foreseen
        raise rd.fail(f"not a valid saved fit: {' '.join(str(exc).split())}") from None


def _from_document(doc: Any, rd: _Reader) -> SavedFit:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise rd.fail(f'not a saved fit (no "format": "{FORMAT}" field)')
    version = rd.get(doc, "format_version", "", (int,))
    if version > FORMAT_VERSION:
        raise rd.fail(
            f"format version {version} is newer than this scalinglib reads ({FORMAT_VERSION}); upgrade scalinglib"
        )
    if version < 1:
        raise rd.fail(f"not a valid saved fit: format version {version}")
    checksum = rd.get(doc, "checksum", "", (str,))
    for key in ("library_version", "law", "params", "objective", "search_box", "runs", "diagnostics"):
        rd.get(doc, key, "", (object,))
    try:
        expected = _checksum(doc)
    except ValueError:
        raise rd.fail("non-finite number in the document") from None
    if checksum != expected:
        raise rd.fail("checksum mismatch: the file was edited or damaged after it was saved; refit and save it again")

    kind = rd.get(doc, "law", "", (str,))
    if kind not in SPECS:
        raise rd.fail(f"unknown law {kind!r}; this scalinglib knows {sorted(SPECS)}")
    spec = SPECS[kind]
    cls: Any = spec.law
    params = rd.numbers(rd.get(doc, "params", "", (dict,)), cls.names, "params")
    law = cls(*[params[n] for n in cls.names])

    objective = rd.get(doc, "objective", "", (str,))
    if objective not in ("lsq", "huber_log"):
        raise rd.fail(f"not a valid saved fit: unknown objective {objective!r}")
    delta_raw = doc.get("delta")
    delta = None if delta_raw is None else rd.number(delta_raw, "delta")
    box_raw = rd.get(doc, "search_box", "", (dict,))
    box = {}
    for k, v in box_raw.items():
        b = rd.array(v, f"search_box[{k!r}]")
        if b.size != 2:
            raise rd.fail(f"not a valid saved fit: search_box[{k!r}] must be [lower, upper]")
        box[str(k)] = (float(b[0]), float(b[1]))

    runs = rd.get(doc, "runs", "", (dict,))
    inputs_raw = rd.get(runs, "inputs", "runs.", (dict,))
    if set(inputs_raw) != set(spec.inputs):
        raise rd.fail(
            f"not a valid saved fit: runs.inputs has {sorted(inputs_raw)}, the {kind} law needs {list(spec.inputs)}"
        )
    inputs = {k: rd.array(inputs_raw[k], f"runs.inputs[{k!r}]") for k in spec.inputs}
    y = rd.array(rd.get(runs, "y", "runs.", (list,)), "runs.y")
    predicted = rd.array(rd.get(runs, "predicted", "runs.", (list,)), "runs.predicted")
    residuals = rd.array(rd.get(runs, "residuals", "runs.", (list,)), "runs.residuals")
    sizes = {a.size for a in (*inputs.values(), y, predicted, residuals)}
    if len(sizes) != 1:
        raise rd.fail(f"not a valid saved fit: the arrays of runs have different lengths {sorted(sizes)}")
    if y.size < N_PARAMS[kind]:
        raise rd.fail(f"not a valid saved fit: {y.size} runs for a law of {N_PARAMS[kind]} parameters")
    for k, a in inputs.items():
        if k != "L" and np.any(a <= 0):
            raise rd.fail(f"not a valid saved fit: runs.inputs[{k!r}] has a non-positive value")

    diag = rd.get(doc, "diagnostics", "", (dict,))
    sse = rd.number(rd.get(diag, "sse", "diagnostics.", (int, float)), "diagnostics.sse")
    objective_value = rd.number(
        rd.get(diag, "objective_value", "diagnostics.", (int, float)), "diagnostics.objective_value"
    )
    on_edge = tuple(str(s) for s in rd.get(diag, "on_edge", "diagnostics.", (list,)))
    active = tuple(str(s) for s in rd.get(diag, "active_constraints", "diagnostics.", (list,)))
    identified = rd.get(diag, "identified", "diagnostics.", (bool,))
    notes = tuple(str(s) for s in rd.get(diag, "notes", "diagnostics.", (list,)))
    result = FitResult(
        law=law,
        objective=objective,
        inputs=inputs,
        y=y,
        predicted=predicted,
        residuals=residuals,
        sse=sse,
        objective_value=objective_value,
        search_box=box,
        on_edge=on_edge,
        active_constraints=active,
        identified=identified,
        notes=notes,
        delta=delta,
    )
    source = doc.get("source")
    if source is not None and not isinstance(source, dict):
        raise rd.fail("not a valid saved fit: field 'source' must be an object or null")

    boot_doc = doc.get("bootstrap")
    boot = None
    level = None
    if boot_doc is not None:
        if not isinstance(boot_doc, dict):
            raise rd.fail("not a valid saved fit: field 'bootstrap' must be an object or null")
        boot, level = _bootstrap_from(boot_doc, cls, rd)
    return SavedFit(
        path=rd.path,
        result=result,
        bootstrap=boot,
        level=level,
        source=source,
        library_version=str(doc["library_version"]),
        format_version=version,
    )


def _bootstrap_from(b: dict, cls: Any, rd: _Reader):
    from ..uncertainty import Bootstrap

    method = rd.get(b, "method", "bootstrap.", (str,))
    if method not in ("pairs", "residual"):
        raise rd.fail(f"not a valid saved fit: unknown bootstrap method {method!r}")
    seed = b.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise rd.fail("not a valid saved fit: bootstrap.seed must be an integer or null")
    level_raw = b.get("level")
    level = None if level_raw is None else rd.number(level_raw, "bootstrap.level")
    if level is not None and not 0.0 < level < 1.0:
        raise rd.fail(f"not a valid saved fit: bootstrap.level {level} is not in (0, 1)")
    samples_raw = rd.get(b, "samples", "bootstrap.", (dict,))
    if set(samples_raw) != set(cls.names):
        raise rd.fail(f"not a valid saved fit: bootstrap.samples has {sorted(samples_raw)}, expected {list(cls.names)}")
    samples = {n: rd.array(samples_raw[n], f"bootstrap.samples[{n!r}]") for n in cls.names}
    sizes = {a.size for a in samples.values()}
    if len(sizes) != 1 or 0 in sizes:
        raise rd.fail(f"not a valid saved fit: bootstrap.samples have lengths {sorted(sizes)}")
    point = rd.numbers(rd.get(b, "point", "bootstrap.", (dict,)), cls.names, "bootstrap.point")
    counts = {}
    for key in ("n_redrawn", "n_on_edge", "n_active"):
        v = b.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise rd.fail(f"not a valid saved fit: bootstrap.{key} must be a count")
        counts[key] = v
    notes = tuple(str(s) for s in b.get("notes", []) or [])
    boot = Bootstrap(law=cls.__name__, method=method, seed=seed, point=point, samples=samples, notes=notes, **counts)
    return boot, level
