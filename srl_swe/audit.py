"""What in expert data should not be imitated: a screen of canonical trajectories, per step and per trajectory.

``audit(trajectory)`` is a pure function returning an :class:`Audit`: a list of :class:`Finding` (a flag
name from :data:`FLAGS`, a short reason, the 1-based step or None for the whole trajectory).
``audit_files(paths)`` streams the audits of canonical JSONL files, reporting bad lines to ``on_skip``.

What an exclusion does (``srl-swe steps --exclude``, see :func:`exclusion`) is fixed per flag:

- ``drops="step"`` (pseudo-actions, scaffold text, empty and repeated actions): the step is not a target;
  it stays in the context of later steps, since the observation the expert saw is still true.
- ``drops="trajectory"`` (limit or error exits, unknown or false resolution, and reward hacking — peeking
  at history, editing the test patch's files, network use): the whole trajectory goes, since every step
  after a peek builds on what the peek showed.

Limits: shell commands are parsed with ``shlex`` (quotes, ``&&``, ``;``, pipes, ``$( )``, ``bash -c``);
heredoc bodies and scripts run by a command (``python x.py``) are not looked into. A git argument is taken
for a revision by its shape (a hex id, ``a..b``, ``refs/…``, ``origin/…``, ``main``, a version tag, ``@{…}``):
a file named like a branch is a false positive, a branch named like a file is missed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from srl_swe.actions import action_text
from srl_swe.trajectory import SkipHandler, Step, Trajectory, read_trajectories


@dataclass(frozen=True)
class FlagInfo:
    drops: Literal["step", "trajectory"]
    """What ``--exclude`` of this flag removes."""
    meaning: str


FLAGS: dict[str, FlagInfo] = {
    "pseudo_action": FlagInfo("step", "a scaffold's pseudo-action (exit_cost, submit left as bash, internals)"),
    "scaffold_text": FlagInfo("step", "the action holds observation or scaffold text"),
    "empty_action": FlagInfo("step", "an action with nothing in it"),
    "repeated_action": FlagInfo("step", "the same action as the step before"),
    "history_peek": FlagInfo("trajectory", "reads git history beyond the base commit"),
    "test_edit": FlagInfo("trajectory", "edits a file the task's test patch touches"),
    "network": FlagInfo("trajectory", "uses the network (downloads, installs, fetches)"),
    "limit_exit": FlagInfo("trajectory", "the run ended on a cost, context, time or step limit"),
    "error_exit": FlagInfo("trajectory", "the run ended on a scaffold error (format, API, crash)"),
    "unresolved": FlagInfo("trajectory", "the run did not resolve its task"),
    "resolution_unknown": FlagInfo("trajectory", "the source does not say whether the run resolved its task"),
}


@dataclass(frozen=True)
class Finding:
    flag: str
    reason: str
    step: int | None = None
    """1-based step number; None when the finding is about the whole trajectory."""


@dataclass
class Audit:
    trajectory_id: str
    instance_id: str
    source: str
    num_steps: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def flags(self) -> set[str]:
        return {finding.flag for finding in self.findings}

    def flagged_steps(self, flag: str) -> set[int]:
        return {f.step for f in self.findings if f.flag == flag and f.step is not None}

    def to_dict(self) -> dict:
        return asdict(self)


def audit(trajectory: Trajectory) -> Audit:
    """Every finding of one trajectory, in step order, then the trajectory's own (pure; never raises)."""
    report = Audit(trajectory.id, trajectory.task.instance_id, trajectory.provenance.source, len(trajectory.steps))
    test_paths = patch_paths(getattr(trajectory.task, "test_patch", ""))
    base = getattr(trajectory.task, "base_commit", "")
    previous = None
    for number, step in enumerate(trajectory.steps, start=1):
        text = action_text(step.action)
        for flag, reason in _step_findings(step, text, previous, test_paths, base):
            report.findings.append(Finding(flag, reason, number))
        previous = text
    report.findings.extend(_trajectory_findings(trajectory, test_paths))
    return report


def audit_files(paths: Iterable[Path], on_skip: SkipHandler | None = None) -> Iterator[Audit]:
    """Stream the audits of canonical JSONL files; bad lines go to ``on_skip(file:line, reason)``."""
    for path in paths:
        for trajectory in read_trajectories(path, on_skip):
            yield audit(trajectory)


def exclusion(report: Audit, exclude: Iterable[str]) -> set[int] | None:
    """The steps that ``exclude`` removes as targets, or None when it removes the whole trajectory."""
    chosen = set(exclude)
    if any(FLAGS[f.flag].drops == "trajectory" for f in report.findings if f.flag in chosen):
        return None
    return {f.step for f in report.findings if f.flag in chosen and f.step is not None}


def unknown_flags(names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(FLAGS))


# ---- per step -------------------------------------------------------------------------------------------

_EXIT = re.compile(r"(submitted\s*\(\s*)?exit_[a-z_]+\s*\)?", re.IGNORECASE)
_SUBMIT_MARKERS = ("COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "MINI_SWE_AGENT_FINAL_OUTPUT")
_INTERNAL_TOOLS = {"recall", "condensation", "condensation_request", "change_agent_state", "agent_state_changed",
                   "system", "message", "null", "noop"}
_SCAFFOLD_MARKERS = ("OBSERVATION:", "(Open file:", "(Current directory:", "bash-$",
                     "Please always provide EXACTLY ONE action", "Your output was not formatted correctly",
                     "did not use any tool calls", "EXECUTION RESULT of [", "[Command finished with exit code",
                     "<returncode>", "Here's the result of running `cat -n`")


def _step_findings(step: Step, text: str, previous: str | None, test_paths: set[str],
                   base: str) -> Iterator[tuple[str, str]]:
    action = step.action
    command = action.arguments.get("command", "") if action.tool == "bash" else ""
    pseudo = _pseudo_action(action.tool, command)
    if pseudo:
        yield "pseudo_action", pseudo
    marker = next((m for m in _SCAFFOLD_MARKERS if m in _payload(step)), None)
    if marker:
        yield "scaffold_text", f"the action holds scaffold text {marker!r}"
    if _is_empty(step):
        yield "empty_action", "the action is empty"
    elif previous is not None and text == previous:
        yield "repeated_action", "the same action as the step before"
    if command and not pseudo:
        yield from _command_findings(command, test_paths, base)
    edited = _edited_path(step)
    if edited and _matches(edited, test_paths):
        yield "test_edit", f"edits {edited}, a file of the test patch"


def _pseudo_action(tool: str | None, command: str) -> str:
    if tool in _INTERNAL_TOOLS:
        return f"scaffold internal {tool!r}, not a call the expert made"
    if tool != "bash":
        return ""
    if _EXIT.fullmatch(command.strip()):
        return f"scaffold exit {command.strip()!r} recorded as a command"
    marker = next((m for m in _SUBMIT_MARKERS if m in command), None)
    return f"a submission ({marker}) left as a bash command" if marker else ""


def _payload(step: Step) -> str:
    return "\n".join(step.action.arguments.values()) if step.action.is_tool_call else step.action.text


def _is_empty(step: Step) -> bool:
    action = step.action
    if not action.is_tool_call:
        return not action.text.strip()
    if action.tool == "bash":
        return not action.arguments.get("command", "").strip()
    if "path" in action.arguments:  # an editor call on no file
        return not action.arguments["path"].strip()
    return bool(action.arguments) and not any(value.strip() for value in action.arguments.values())


_EDIT_COMMANDS = {"create", "str_replace", "insert", "undo_edit", "write", "edit", "append"}


def _edited_path(step: Step) -> str:
    """The file an editor call writes ('' for reads and for other tools)."""
    args = step.action.arguments
    if step.action.tool == "bash" or "path" not in args:
        return ""
    return args["path"] if args.get("command", "edit") in _EDIT_COMMANDS else ""


# ---- the trajectory as a whole --------------------------------------------------------------------------

_LIMIT = re.compile(r"cost|context|time|limit|step|iteration|turn|budget", re.IGNORECASE)
_ERROR = re.compile(r"error|exception|format|api|forfeit|crash|fail", re.IGNORECASE)


def _trajectory_findings(trajectory: Trajectory, test_paths: set[str]) -> Iterator[Finding]:
    outcome = trajectory.outcome
    if _LIMIT.search(outcome.exit_status):
        yield Finding("limit_exit", f"exit status {outcome.exit_status!r}")
    elif _ERROR.search(outcome.exit_status):
        yield Finding("error_exit", f"exit status {outcome.exit_status!r}")
    if outcome.resolved is False:
        yield Finding("unresolved", "the source graded the run as not resolved")
    elif outcome.resolved is None:
        yield Finding("resolution_unknown", "the source does not say whether the run resolved its task")
    touched = sorted(patch_paths(outcome.patch) & test_paths)
    if touched:
        yield Finding("test_edit", f"the final patch changes {', '.join(touched[:3])}, file(s) of the test patch")


_DIFF_HEADER = re.compile(r"^(?:diff --git a/(\S+) b/(\S+)|\+\+\+ b/(\S+)|--- a/(\S+))", re.MULTILINE)


def patch_paths(patch: str) -> set[str]:
    """The repository-relative paths a unified diff touches."""
    return {path for match in _DIFF_HEADER.finditer(patch or "") for path in match.groups() if path}


def _matches(path: str, test_paths: set[str]) -> str:
    """The test-patch path that ``path`` (absolute or relative, e.g. /testbed/tests/x.py) names, or ''."""
    clean = path.strip().strip("'\"").removeprefix("./")
    return next((t for t in test_paths if clean == t or clean.endswith("/" + t)), "")


# ---- shell commands -------------------------------------------------------------------------------------

_PUNCTUATION = ";&|()<>\n"
_WRAPPERS = {"sudo", "timeout", "env", "nohup", "time", "command", "exec", "xargs", "nice"}
_SHELLS = {"bash", "sh", "zsh", "dash"}


def simple_commands(command: str) -> list[list[str]]:
    """A shell command line split into simple commands (word lists), with redirections kept as words
    ('>', '>>'). Unbalanced quotes fall back to splitting on whitespace."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace, lexer.whitespace_split = " \t\r", True
    try:
        words = list(lexer)
    except ValueError:
        words = [w.strip("'\"") for w in re.sub(r"(\|\||&&|[;|&()\n])", r" \1 ", command).split()]
    commands, current = [], []
    for word in words:
        if word and set(word) <= set(_PUNCTUATION) and not set(word) & set("<>"):
            commands.append(current)
            current = []
        elif word.strip("`$"):
            current.append(word.strip("`") if word.count("`") == 1 else word)  # a split `cmd args`
    return [c for c in [*commands, current] if c]


def _substitutions(words: list[str]) -> list[str]:
    """The commands inside ``$( … )`` or backticks that survived as parts of quoted words."""
    found = (group for word in words for groups in re.findall(r"\$\(([^()]*)\)|`([^`]*)`", word) for group in groups)
    return [inner for inner in found if inner.strip()]


def _program(words: list[str]) -> list[str]:
    """The words from the program on: leading VAR=value assignments and wrappers (sudo, timeout 10) skipped."""
    index = 0
    while index < len(words) and ("=" in words[index].split("/")[0] or words[index] in _WRAPPERS
                                  or (index and words[index - 1] == "timeout" and words[index][:1].isdigit())):
        index += 1
    return words[index:]


def _command_findings(command: str, test_paths: set[str], base: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    if depth > 3:  # bash -c "bash -c …" nested deeper is not worth following
        return
    for words in simple_commands(command):
        words = _program(words)
        if not words:
            continue
        name = Path(words[0]).name
        if name in _SHELLS and "-c" in words[1:-1]:
            yield from _command_findings(words[words.index("-c") + 1], test_paths, base, depth + 1)
            continue
        for inner in _substitutions(words):
            yield from _command_findings(inner, test_paths, base, depth + 1)
        shown = " ".join(words)[:120]
        if name == "git":
            peek = _git_peek(words[1:], base)
            if peek:
                yield "history_peek", f"`{shown}` {peek}"
        network = _network(name, words)
        if network:
            yield "network", f"`{shown}` {network}"
        written = _written_test_file(name, words, test_paths)
        if written:
            yield "test_edit", f"`{shown}` writes {written}, a file of the test patch"


# ---- git: history beyond the base commit ----------------------------------------------------------------

_GIT_VALUE_OPTIONS = {"-C", "-c", "--git-dir", "--work-tree", "--namespace"}
_ALWAYS_PEEK = {"reflog": "reads the reflog", "fsck": "lists unreachable objects",
                "for-each-ref": "lists every ref", "show-ref": "lists every ref"}
_REVISION_COMMANDS = {"log", "shortlog", "rev-list", "whatchanged", "show", "diff", "checkout", "switch", "restore",
                      "cat-file", "blame", "cherry-pick", "merge", "reset", "rebase", "format-patch", "ls-tree",
                      "grep", "archive", "difftool", "range-diff", "branch"}
_ALL_REFS = ("--all", "--branches", "--tags", "--remotes", "--glob", "--reflog", "--walk-reflogs", "-g",
             "--batch-all-objects", "--batch", "--batch-check", "--unreachable", "--lost-found")
_BRANCH_LISTING = {"-a", "-r", "--all", "--remotes", "--contains", "--merged", "--no-merged"}
_NEW_NAME = {"-b", "-B", "-c", "-C", "--orphan"}
_SKIP_VALUE = {"-n", "-S", "-G", "--grep", "--author", "--committer", "--since", "--until", "--format", "--pretty",
               "-L", "-e", "--max-count", "--skip"}
_HEAD = re.compile(r"(HEAD|@)([~^]\d*)*")
_REVISION = re.compile(r"[0-9a-f]{7,40}([~^]\d*)*|(refs|origin|upstream|remotes)/\S+|main|master|develop|trunk"
                       r"|FETCH_HEAD|ORIG_HEAD|MERGE_HEAD|CHERRY_PICK_HEAD|stash(@\{\d+\})?|v?\d+(\.\d+)+\S*"
                       r"|\S*@\{.*\}")


def _git_peek(args: list[str], base: str) -> str:
    """Why a git invocation (the words after ``git``) reads history beyond the base commit, or ''."""
    while args and args[0].startswith("-"):
        args = args[2:] if args[0] in _GIT_VALUE_OPTIONS else args[1:]
    if not args:
        return ""
    sub, rest = args[0], args[1:]
    if sub in _ALWAYS_PEEK:
        return _ALWAYS_PEEK[sub]
    if sub not in _REVISION_COMMANDS:
        return ""
    wide = next((w for w in rest if w.split("=")[0] in _ALL_REFS), None)
    if wide and sub != "branch":
        return f"reads other refs ({wide})"
    if sub == "branch":
        listing = next((w for w in rest if w in _BRANCH_LISTING), None)
        return f"lists other branches ({listing})" if listing else ""
    other = next((r for r in _revisions(sub, rest) if _is_other_revision(r, base)), None)
    return f"reads another commit or ref ({other})" if other else ""


def _revisions(sub: str, rest: list[str]) -> Iterator[str]:
    """The revision-like words of a git subcommand's arguments (each side of a..b, the rev of rev:path)."""
    index = 0
    while index < len(rest):
        word = rest[index]
        index += 1
        if word == "--":
            return
        if word in ("-s", "--source") or word.startswith("--source="):
            value = word.split("=", 1)[1] if "=" in word else (rest[index] if index < len(rest) else "")
            index += "=" not in word
            yield value
        elif word in _NEW_NAME and sub in ("checkout", "switch", "branch") or word in _SKIP_VALUE:
            index += 1
        elif not word.startswith("-"):
            for side in re.split(r"\.\.\.?", word):
                if side:
                    yield side.split(":", 1)[0] if sub in ("show", "cat-file", "grep", "ls-tree") else side


def _is_other_revision(word: str, base: str) -> bool:
    if not word or _HEAD.fullmatch(word):
        return False
    if base and re.fullmatch(r"[0-9a-f]{4,40}", word) and base.startswith(word):
        return False
    return bool(_REVISION.fullmatch(word))


# ---- network and writes ---------------------------------------------------------------------------------

_NETWORK_PROGRAMS = {"curl", "wget", "ssh", "scp", "rsync", "nc", "telnet", "ftp", "aria2c", "http", "https"}
_NETWORK_GIT = {"clone", "fetch", "pull", "ls-remote", "push", "submodule"}
_INSTALLERS = {"pip", "pip3", "uv", "poetry", "conda", "mamba", "npm", "yarn", "apt", "apt-get", "gem", "cargo"}
_TEXT_TOOLS = {"echo", "printf", "grep", "egrep", "rg", "sed", "awk", "cat", "find", "ls", "git"}
_URL = re.compile(r"https?://|ftp://")


def _network(name: str, words: list[str]) -> str:
    if name in _NETWORK_PROGRAMS:
        return "reaches the network"
    if name == "git" and _git_subcommand(words[1:]) in _NETWORK_GIT:
        return "fetches from a remote"
    installer = _install_targets(name, words)
    if installer is not None and any(not t.startswith((".", "/", "-")) for t in installer):
        return "installs packages from the network"
    if name not in _TEXT_TOOLS and any(_URL.search(w) for w in words):
        return "names a URL"
    return ""


def _git_subcommand(args: list[str]) -> str:
    while args and args[0].startswith("-"):
        args = args[2:] if args[0] in _GIT_VALUE_OPTIONS else args[1:]
    return args[0] if args else ""


def _install_targets(name: str, words: list[str]) -> list[str] | None:
    """The targets of ``pip install X`` / ``python -m pip install X`` / ``npm install X`` …, or None."""
    if name.startswith("python") and words[1:3] == ["-m", "pip"]:
        words = words[2:]
    elif name == "uv" and words[1:2] == ["pip"]:
        words = words[1:]
    elif name not in _INSTALLERS:
        return None
    if len(words) < 2 or words[1] not in ("install", "add", "download"):
        return None
    return [w for w in words[2:] if w not in ("-e", "--editable", "-y", "-q", "--quiet")] or ["(default)"]


_WRITERS = {"tee", "rm", "truncate", "touch"}
_COPIERS = {"cp", "mv", "install", "ln"}


def _written_test_file(name: str, words: list[str], test_paths: set[str]) -> str:
    """The test-patch file a simple command writes (a redirection, sed -i, tee, cp/mv target …), or ''."""
    if not test_paths:
        return ""
    targets = [words[i + 1] for i, w in enumerate(words[:-1]) if w in (">", ">>", ">|", "&>")]
    in_place = name in ("sed", "perl") and any(w.startswith("-i") or w.startswith("-pi") for w in words[1:])
    operands = [w for w in words[1:] if not w.startswith("-")]
    if name in _WRITERS or in_place:
        targets += operands
    elif name in _COPIERS and operands:
        targets.append(operands[-1])  # only the destination is written
    return next((match for t in targets if (match := _matches(t, test_paths))), "")


# ---- a report over many trajectories --------------------------------------------------------------------

@dataclass
class Summary:
    """Counts over audits: per flag, the trajectories with it and the steps marked by it."""

    trajectories: int = 0
    steps: int = 0
    flagged: int = 0
    by_flag: dict[str, dict[str, int]] = field(
        default_factory=lambda: {name: {"trajectories": 0, "steps": 0} for name in FLAGS})

    def add(self, report: Audit) -> None:
        self.trajectories += 1
        self.steps += report.num_steps
        self.flagged += bool(report.findings)
        for flag in report.flags:
            self.by_flag[flag]["trajectories"] += 1
            self.by_flag[flag]["steps"] += len(report.flagged_steps(flag))
