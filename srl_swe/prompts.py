"""Every prompt text in one place: the SRL system prompts and the user-turn layouts.

The math system prompt is the paper's (Appendix B.2.1) verbatim. The SWE system prompt and both
user-turn layouts are ours — the paper shows them only as figures (SRL-SPEC §1.4, §3.1).
"""

from __future__ import annotations

MATH_SYSTEM = """\
You are a helpful assistant for solving mathematical problems. A user will provide a math problem, \
which may include a partial solution. Your task is to continue the solution by providing the very next \
logical step.

A user will ask you to solve a task. You should first draft your thinking process (inner monologue). \
Then, generate the solution.

Your response format must follow the template below:
<think>
Your thoughts or/and draft, like working through an exercise on scratch paper. Be as casual and as long \
as you want until you are confident to generate a correct solution.
</think>
Provide only the single, next step to continue the solution. Do not solve the entire problem."""

MATH_EVAL_SYSTEM = (
    "Please reason step by step, and put your final answer within \\boxed{}. You can draft your thinking "
    'process inside <think> </think> tags anywhere. This is your "scratch paper".'
)
"""The paper's evaluation prompt (Appendix B.2.2)."""

MATH_INSTRUCTION = (
    "Complete a single step of partial solution. You should first draft your thinking process as an "
    "inner monologue inside <think> </think>, then write only the very next step of the solution."
)

SWE_SYSTEM = """\
You are an expert software engineer resolving an issue in a code repository checked out at /testbed. \
You act one step at a time: each of your turns runs exactly one tool call, and its output comes back \
to you as the next message.

Your response format must follow the template below:
<think>
Your reasoning about what to do next: what you know, what you still need to find out, and why the \
next action is the right one.
</think>
<function=TOOL_NAME>
<parameter=PARAMETER_NAME>value</parameter>
</function>

Write exactly one tool call after </think>, with one <parameter=…> line per argument. Tools:
- bash: run a shell command. Parameters: command.
- str_replace_editor: view, create and edit files. Parameters: command (view, create, str_replace, \
insert or undo_edit), path (absolute), and as the command needs: file_text, old_str, new_str, \
insert_line, view_range.
- submit: submit your changes once the issue is resolved. No parameters."""

OBSERVATION_PREFIX = "OBSERVATION:\n"


def swe_task_turn(problem_statement: str, earlier: int, shown: int) -> str:
    """The first user turn of a SWE prompt: the issue, and how much history follows."""
    text = f"<issue>\n{problem_statement.strip()}\n</issue>\n\nResolve the issue in /testbed."
    if earlier:
        text += f" {earlier} earlier step(s) are not shown; the last {shown} follow." if shown else (
            f" {earlier} step(s) have been taken; take the next one."
        )
    return text


def hindsight_goal(diff: str, budget: int) -> str:
    """The task of a hindsight example: reach the change a run reached (its diff, cut to ``budget``)."""
    return ("Change the repository so that its diff against the original commit becomes:\n\n"
            + truncate_middle(diff.strip(), budget))


def observation_turn(observation: str | None, budget: int) -> str:
    """A tool result as the user turn that follows an action, cut to ``budget`` characters."""
    return OBSERVATION_PREFIX + (truncate_middle(observation, budget) if observation else "(no output)")


def truncate_middle(text: str, budget: int) -> str:
    """Keep the head and tail of text within ``budget`` characters, with a visible marker between."""
    if len(text) <= budget:
        return text
    marker = "\n[… {} characters truncated …]\n"
    keep = max(0, budget - len(marker) - 8)
    head, tail = keep // 2, keep - keep // 2
    return text[:head] + marker.format(len(text) - head - tail) + text[len(text) - tail :]



def math_turn(question: str, solution_so_far: list[str], next_title: str | None = None) -> str:
    """The user turn of a math step prompt (the layout of the paper's Fig. 3)."""
    parts = [f"Question: {question.strip()}", "Solution so far:"]
    parts.extend(solution_so_far or ["(nothing yet)"])
    if next_title:
        parts.append(f"Next step title: {next_title}")
    parts.append(MATH_INSTRUCTION)
    return "\n".join(parts)
