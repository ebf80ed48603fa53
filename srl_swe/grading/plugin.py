"""The grader's test runner, run inside the sandbox as a script (``srl_swe.grading`` writes this file's text
into a folder outside the repository); importing it has no effect.

``python3 runner.py OUTCOMES NONCE PYTEST_ARGS...`` from the repository root does what ``python3 -m pytest
PYTEST_ARGS...`` does, with two differences:

- **pytest comes from outside the repository.** ``pytest`` (with ``_pytest``, ``pluggy`` and what they import)
  is imported while neither the repository root nor this file's folder is on ``sys.path``; then the root goes
  to the front of ``sys.path``, as ``python -m`` puts it, so the repository's own package imports as usual.
  A ``pytest.py`` at the root is never imported. Installed plugins are still imported by ``pytest.main``, after
  the root is back (importing them earlier would break assertion rewriting and, under ``filterwarnings =
  error``, pytest's start).
- **A second record of the outcomes.** A plugin object, given to ``pytest.main(plugins=...)`` (as ``-p`` would,
  without needing an import path) and so registered before collection, before any code under test is
  imported, writes one line ``NONCE STATUS NODEID`` per test to the file OUTCOMES when the
  test's teardown ends, and ``NONCE END CODE`` when ``pytest.main`` returns. STATUS is one of swebench's
  (PASSED, FAILED, ERROR, SKIPPED, XFAIL) and is decided from each phase's ``CallInfo`` (did setup, call and
  teardown raise, and what) in a ``pytest_runtest_makereport`` hookwrapper, never from the ``TestReport``:
  code under test that rewrites pytest's reports or its terminal output does not change this record. NODEID
  is the id as pytest's summary shows it (relative to the folder pytest was started in).

Limits: it runs in the same process as the code under test, which can still patch this object, pytest's
runner (``CallInfo``), write to OUTCOMES, or leave by ``os._exit``. xfail markers' conditions and ``raises``
are not evaluated: an xfail-marked test that raises is XFAIL here (pytest may say FAILED), an xfail-marked
test that passes is PASSED (pytest may say XPASS or FAILED); the grader only ever needs both records to agree
on success, so this leniency cannot turn a failure into a pass. Tests that run in other processes
(pytest-xdist's ``-n`` in a repository's config) are not recorded, so such a run is graded not resolved.

Python 3.6+ and pytest 3+ (the SWE-bench images): stdlib and pytest only, no newer syntax.
"""

import os
import sys
import unittest


def main(argv):
    """Run pytest with ``argv[3:]``, recording outcomes to ``argv[1]`` with nonce ``argv[2]``; pytest's code."""
    outcomes, nonce, args = argv[1], argv[2], argv[3:]
    root, here = os.path.realpath(os.getcwd()), os.path.dirname(os.path.realpath(__file__))
    saved = list(sys.path)
    sys.path[:] = [path for path in saved if os.path.realpath(path or ".") not in (root, here)]
    import pytest  # only now, with nothing of the repository on sys.path

    sys.path[:] = [root] + [path for path in saved if path not in ("", ".") and os.path.realpath(path) != here]
    sys.argv = [pytest.__file__] + args
    recorder = make_recorder(pytest, outcomes, nonce, root)
    code = int(pytest.main(args, plugins=[recorder]))
    recorder.end(code)
    return code


def make_recorder(pytest, path, nonce, root):
    """The plugin object: records each test's STATUS to ``path`` (appending; one ``os.write`` per line), its
    id as pytest shows it when started in ``root``."""
    skips = tuple(kind for kind in (getattr(pytest.skip, "Exception", None), unittest.SkipTest) if kind)
    xfails = tuple(kind for kind in (getattr(pytest.xfail, "Exception", None),) if kind)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    phases = {}

    def write(*words):
        os.write(fd, (" ".join((nonce,) + words) + "\n").encode("utf-8", "replace"))

    class Recorder:
        @pytest.hookimpl(hookwrapper=True, tryfirst=True)
        def pytest_runtest_makereport(self, item, call):
            yield  # read the CallInfo after pytest's own hooks: its unittest plugin moves a failure into it
            kinds = phases.setdefault(item.nodeid, {})
            kinds[call.when] = phase_kind(call.excinfo, skips, xfails)
            if call.when == "teardown":
                write(status(phases.pop(item.nodeid), _xfail_marked(item)), _shown_id(item, root))

        def end(self, code):
            write("END", str(code))
            os.close(fd)

    return Recorder()


def phase_kind(excinfo, skips, xfails):
    """How one phase ended: "ok", "xfail", "skip" or "error"."""
    if excinfo is None:
        return "ok"
    if isinstance(excinfo.value, xfails):
        return "xfail"
    return "skip" if isinstance(excinfo.value, skips) else "error"


def status(kinds, xfail_marked):
    """A test's swebench status from its phases' kinds (as pytest ranks them: setup, then call, then teardown)."""
    setup, call, teardown = kinds.get("setup"), kinds.get("call"), kinds.get("teardown")
    if setup == "error":
        return "XFAIL" if xfail_marked else "ERROR"
    if "xfail" in (setup, call):
        return "XFAIL"
    if "skip" in (setup, call):
        return "SKIPPED"
    if call == "error":
        return "XFAIL" if xfail_marked else "FAILED"
    if teardown == "error" or call != "ok":
        return "ERROR"
    return "PASSED"


def _shown_id(item, invoked_in):
    """The test's id as pytest's summary shows it: its path relative to the folder pytest was started in,
    not to the rootdir (``Config.cwd_relative_nodeid``, whose argument type changed in pytest 9)."""
    path, sep, rest = item.nodeid.partition("::")
    rootdir = os.path.realpath(str(getattr(item.config, "rootpath", None) or item.config.rootdir))
    if path and rootdir != invoked_in:
        path = os.path.relpath(os.path.join(rootdir, path), invoked_in)
    return (path + sep + rest).replace("\r", " ").replace("\n", " ")


def _xfail_marked(item):
    get = getattr(item, "get_closest_marker", None) or getattr(item, "get_marker", None)
    return bool(get and get("xfail"))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
