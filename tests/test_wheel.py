"""The wheel carries its data: installed from a wheel (not editable), srl-swe finds the bundled sandboxes and
example trajectories inside the package (srl_swe/resources.py), file for file, so the tasks' base commits match.

One wheel build and one fresh virtual environment (about 15-30 s): the wheel is built from a copy of the
build's inputs (no ``build/`` folder is left in the checkout, none of its stale files reaches the wheel), the
venv sees this environment's dependencies through a ``.pth`` line instead of installing them, and everything
runs from a folder outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from srl_swe.sandbox.local import commit_base

ROOT = Path(__file__).resolve().parent.parent
BUILD_INPUTS = ["pyproject.toml", "README.md", "srl_swe", "sandboxes", "trajectories/examples"]
JUNK = ["sandboxes/units/repo/units/__pycache__/left-behind.pyc", "sandboxes/units/repo/.pytest_cache/v/x",
        "sandboxes/units/repo/units.egg-info/PKG-INFO", "trajectories/examples/__pycache__/left-behind.pyc"]
"""What running things in place leaves in the data folders: never shipped."""
TIMEOUT_S = 180

SNIPPET = """
import json, sys
import srl_swe.cli, srl_swe.quickstart, srl_swe.resources
from srl_swe.resources import examples_dir, sandboxes_dir
from srl_swe.tasks.rows import bundled_tasks
print(json.dumps({"prefix": sys.prefix, "resources": srl_swe.resources.__file__, "cli": srl_swe.cli.__file__,
                  "sandboxes": str(sandboxes_dir()), "examples": str(examples_dir()),
                  "quickstart": str(srl_swe.quickstart.SANDBOXES), "cli_sandboxes": str(srl_swe.cli.SANDBOXES),
                  "tasks": len(bundled_tasks(sandboxes_dir()))}))
"""


def _run(command: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _is_junk(relative: Path) -> bool:
    parts = relative.parts
    return (relative.suffix == ".pyc" or "__pycache__" in parts or any(p.endswith(".egg-info") for p in parts)
            or any(p.startswith(".") for p in parts[:-1]))  # hidden folders (.pytest_cache, ...)


def _files(folder: Path) -> dict[str, tuple[bytes, bool]]:
    """Relative path → (content, executable) of every file of ``folder`` that a build should ship."""
    files = {}
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and not _is_junk(relative):
            files[relative.as_posix()] = (path.read_bytes(), bool(path.stat().st_mode & stat.S_IXUSR))
    return files


def _build_isolation() -> list[str]:
    """Build with this environment's setuptools when it is recent enough (offline, quicker), else isolated."""
    try:
        major = int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return []
    return ["--no-build-isolation", "--no-index"] if major >= 77 else []


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed; what its srl_swe reports, its folder and its environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for name in BUILD_INPUTS:
        source, target = ROOT / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("*.egg-info"))
        else:
            shutil.copy2(source, target)
    for junk in JUNK:
        (src / junk).parent.mkdir(parents=True, exist_ok=True)
        (src / junk).write_bytes(b"junk")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *_build_isolation(), "-q", "-w", str(tmp / "dist"),
          str(src)], cwd=tmp)
    wheel, = (tmp / "dist").glob("srl_swe-*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=tmp, env=env).stdout.strip())
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)], cwd=tmp, env=env)
    # Then this environment's dependencies, visible without installing them (after the install, so pip never
    # sees this environment's srl-swe): plain path lines, so the .pth files there (the editable install's
    # finder among them) are not run and the checkout's srl_swe stays unseen.
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (purelib / "_srl_swe_test_deps.pth").write_text("".join(f"{path}\n" for path in ours))

    work = tmp / "elsewhere"
    work.mkdir()
    report = json.loads(_run([str(python), "-c", SNIPPET], cwd=work, env=env).stdout.strip().splitlines()[-1])
    return {"report": report, "venv": venv, "work": work, "env": env, "tmp": tmp}


def test_the_installed_wheel_runs_the_quickstart_cli(installed):
    script = installed["venv"] / ("Scripts" if os.name == "nt" else "bin") / "srl-swe"
    done = _run([str(script), "quickstart", "--help"], cwd=installed["work"], env=installed["env"])
    assert "quickstart" in done.stdout


def test_the_wheel_ships_every_sandbox_and_example_file_for_file(installed):
    report, venv = installed["report"], installed["venv"].resolve()
    package = Path(report["resources"]).resolve().parent
    assert Path(report["prefix"]).resolve() == venv  # the venv's python, running its own copy of srl_swe
    assert package.is_relative_to(venv) and not package.is_relative_to(ROOT), package
    assert Path(report["cli"]).resolve().parent == package
    sandboxes, examples = Path(report["sandboxes"]).resolve(), Path(report["examples"]).resolve()
    assert sandboxes == package / "_data" / "sandboxes" and examples == package / "_data" / "examples"
    assert report["quickstart"] == report["cli_sandboxes"] == report["sandboxes"]

    for folder in sorted(p for p in (ROOT / "sandboxes").iterdir() if p.is_dir()):
        assert (sandboxes / folder.name).is_dir(), folder.name
        if (folder / "tasks.jsonl").exists():
            assert (sandboxes / folder.name / "tasks.jsonl").is_file() and (sandboxes / folder.name / "repo").is_dir()
    # Same files, same bytes, same executable bits (repo/bin/test), dotfiles included; none of the junk.
    for source, shipped in ((ROOT / "sandboxes", sandboxes), (ROOT / "trajectories" / "examples", examples)):
        ours, theirs = _files(source), _files(shipped)
        assert sorted(theirs) == sorted(ours), shipped
        assert all(theirs[name] == ours[name] for name in ours), shipped
    assert (sandboxes / "units" / "repo" / ".gitignore").is_file() and (sandboxes / "units" / ".dockerignore").is_file()
    assert os.access(sandboxes / "units" / "repo" / "bin" / "test", os.X_OK)
    shipped_junk = [junk.replace("trajectories/examples/", "examples/", 1) for junk in JUNK]
    assert not [junk for junk in shipped_junk if (package / "_data" / junk).exists()]
    # Every module of the checkout is installed (pyproject.toml lists the packages by hand).
    modules = {p.relative_to(ROOT / "srl_swe").as_posix() for p in (ROOT / "srl_swe").rglob("*.py")}
    assert not {m for m in modules if not (package / m).is_file()}


def test_the_shipped_repositories_keep_their_base_commits(installed):
    """The base-commit recipe on a plain copy of each shipped repo/ (with whatever pip compiled into it)
    gives every task's base_commit, as the Docker build and the local sandbox will."""
    sandboxes = Path(installed["report"]["sandboxes"])
    folders = sorted(p.parent for p in sandboxes.glob("*/tasks.jsonl"))
    assert len(folders) == len(list((ROOT / "sandboxes").glob("*/tasks.jsonl"))) >= 1
    tasks = 0
    for folder in folders:
        expected = {json.loads(line)["base_commit"] for line in (folder / "tasks.jsonl").read_text().splitlines()
                    if line.strip()}
        tasks += sum(1 for line in (folder / "tasks.jsonl").read_text().splitlines() if line.strip())
        copy = installed["tmp"] / "commits" / folder.name
        shutil.copytree(folder / "repo", copy, symlinks=True)
        assert {commit_base(copy)} == expected, folder.name
    assert installed["report"]["tasks"] == tasks
