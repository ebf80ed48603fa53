"""The tools in a real (local) sandbox: mistakes come back as observations, never as exceptions."""

import pytest

from srl_swe.actions import tool_action
from srl_swe.sandbox.local import LocalSandbox
from srl_swe.tools import ToolBox


@pytest.fixture
def tools(tmp_path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n")
    with pytest.warns(UserWarning):
        sandbox = LocalSandbox(repo)
    with sandbox:
        yield ToolBox(sandbox, command_timeout=5)


def call(tools, tool, **arguments):
    return tools.execute(tool_action(tool, arguments))


def editor(tools, **arguments):
    return call(tools, "str_replace_editor", **arguments).observation


def test_bash_and_submit(tools):
    assert call(tools, "bash", command="ls pkg").observation == "calc.py\n"
    assert call(tools, "bash", command="false").observation == "(no output)\n[exit code 1]"
    assert "timed out" in call(tools, "bash", command="sleep 30").observation
    result = call(tools, "submit")
    assert result.submitted and not call(tools, "bash", command="true").submitted


def test_editor_edits_and_undoes(tools):
    path = f"{tools.sandbox.workdir}/pkg/calc.py"
    viewed = editor(tools, command="view", path=path, view_range=[1, 2])
    assert "     1\tdef add(a, b):" in viewed and "     2\t    return a - b" in viewed and "sub" not in viewed
    assert "pkg/calc.py" in editor(tools, command="view", path=tools.sandbox.workdir)
    edited = editor(tools, command="str_replace", path=path, old_str="def add(a, b):\n    return a - b",
                    new_str="def add(a, b):\n    return a + b")
    assert edited.startswith("Edited") and "return a + b" in edited
    assert editor(tools, command="insert", path=path, insert_line=0, new_str="import math").startswith("Inserted")
    assert tools.sandbox.read_file(path).startswith("import math\ndef add(a, b):\n    return a + b")
    editor(tools, command="undo_edit", path=path)
    editor(tools, command="undo_edit", path=path)
    assert tools.sandbox.read_file(path).startswith("def add(a, b):\n    return a - b")
    new = f"{tools.sandbox.workdir}/pkg/new.py"
    assert editor(tools, command="create", path=new, file_text="X = 1\n").startswith("Created")
    assert "pkg/new.py" in tools.sandbox.diff()
    editor(tools, command="undo_edit", path=new)
    assert "pkg/new.py" not in tools.sandbox.diff()


@pytest.mark.parametrize("arguments, message", [
    ({"command": "str_replace", "path": "@/pkg/calc.py", "old_str": "return a - b", "new_str": "x"}, "appears 2 times"),
    ({"command": "str_replace", "path": "@/pkg/calc.py", "old_str": "nothing like it", "new_str": "x"},
     "did not appear verbatim"),
    ({"command": "view", "path": "/etc/passwd"}, "outside the repository"),
    ({"command": "view", "path": "@/../../etc/passwd"}, "outside the repository"),
    ({"command": "view", "path": "pkg/calc.py"}, "must be absolute"),
    ({"command": "view", "path": "@/missing.py"}, "does not exist"),
    ({"command": "view", "path": "@/pkg/calc.py", "view_range": "[5, 99]"}, "outside the file's lines"),
    ({"command": "create", "path": "@/pkg/calc.py", "file_text": "x"}, "already exists"),
    ({"command": "insert", "path": "@/pkg/calc.py", "insert_line": "99", "new_str": "x"}, "out of range"),
    ({"command": "undo_edit", "path": "@/pkg/calc.py"}, "no edit"),
    ({"command": "delete", "path": "@/pkg/calc.py"}, "unknown command"),
    ({"path": "@/pkg/calc.py"}, "'command' is required"),
    ({"command": "create", "path": "@/pkg/calc.py/inner.py", "file_text": "x"}, "ERROR"),
    ({"command": "view", "path": "@/pkg/calc.py/inner.py"}, "ERROR"),
])
def test_editor_mistakes_are_observations(tools, arguments, message):
    arguments = {k: v.replace("@", tools.sandbox.workdir) for k, v in arguments.items()}
    observation = editor(tools, **arguments)
    assert observation.startswith("ERROR:") and message in observation


def test_unknown_tool_is_an_observation(tools):
    assert "unknown tool" in call(tools, "rm_rf", path="/").observation
