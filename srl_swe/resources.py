"""Where the bundled data lives: the sandboxes (``sandboxes/``) and the example trajectories
(``trajectories/examples/``).

Contract of :func:`sandboxes_dir` and :func:`examples_dir`:

- in an installed wheel (``pip install .``, ``pip install srl-swe-*.whl``) they are the copies shipped inside the
  package, ``srl_swe/_data/sandboxes`` and ``srl_swe/_data/examples`` (pyproject.toml maps the two top-level
  folders there, every file included, so the bundled tasks' base commits still match);
- in a source checkout or an editable install (``pip install -e .``), where no shipped copy exists, they are the
  top-level folders of the repository, ``sandboxes/`` and ``trajectories/examples/``.

Both return real folders on disk (Docker builds them, the local sandbox copies them), never a zip member; when
neither exists (a broken install) the repository path is returned, so the caller's error names a path. Every
place that reaches these folders goes through here.

The shipped copy is looked up next to this module rather than with ``importlib.resources.files("srl_swe")``:
``srl_swe`` is a namespace package (no ``__init__.py``), for which ``files()`` raises under an editable install
and would merge every ``srl_swe`` folder on ``sys.path``; the folder this module was imported from is the one
whose data belongs to it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPOSITORY = PACKAGE.parent
SHIPPED = PACKAGE / "_data"
"""The data shipped inside an installed wheel (absent in a source checkout)."""
DATA = {"sandboxes": "sandboxes", "examples": "trajectories/examples"}
"""Each bundled data folder's name → its path in the repository (shipped as ``_data/<name>``)."""


def data_dir(name: str) -> Path:
    """The bundled data folder ``name`` (a key of ``DATA``): the shipped copy, else the repository's folder."""
    if name not in DATA:
        raise KeyError(f"unknown data folder {name!r}; known: {', '.join(DATA)}")
    shipped = SHIPPED / name
    return shipped if shipped.is_dir() else REPOSITORY / DATA[name]


def sandboxes_dir() -> Path:
    """The bundled sandboxes: one folder per repository (Dockerfile, ``repo/``, ``tasks.jsonl``) and ``base/``."""
    return data_dir("sandboxes")


def examples_dir() -> Path:
    """The example trajectory files of every supported format."""
    return data_dir("examples")
