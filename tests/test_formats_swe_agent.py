"""SWE-agent importer beyond the step lists of expected_swe_agent.json: scaffold exits go to the outcome,
observations are the commands' own output, requeried replies and exit turns never become steps."""

import json
from pathlib import Path

from srl_swe.formats import detect_format, swe_agent
from srl_swe.formats.sources import read_records
from srl_swe.steps import StepOptions, step_examples

EXAMPLES = Path(__file__).parent.parent / "trajectories" / "examples"


def imported(name):
    [(source, record)] = list(read_records(EXAMPLES / name))
    return record, swe_agent.convert(record, source)


def test_scaffold_exits_are_the_outcome_never_an_action():
    for name, status in [("swe_agent_0x_exit_cost.traj", "submitted (exit_cost)"),
                         ("swe_agent_0x_exit_format.traj", "exit_format"),
                         ("swe_agent_1x_requery_exit_cost.traj", "submitted (exit_cost)")]:
        record, trajectory = imported(name)
        assert trajectory.outcome.exit_status == status
        assert trajectory.outcome.patch == (record["info"]["submission"] or "")
        for example in step_examples(trajectory, StepOptions(targets="all")):
            assert "exit_" not in example["expert_action"] and "Exit due to" not in example["expert_action"]
        assert all("Exit" not in (step.thought or "") for step in trajectory.steps)


def test_exit_status_falls_back_to_the_pseudo_action(tmp_path):
    record, _ = imported("swe_agent_0x_exit_cost.traj")
    del record["info"]["exit_status"]
    trajectory = swe_agent.convert(record, f"{tmp_path}/acme__calc-9.traj")
    assert trajectory.outcome.exit_status == "exit_cost" and len(trajectory.steps) == 3


def test_0x_observations_are_the_commands_own_output():
    record, trajectory = imported("swe_agent_0x.traj")
    for step, entry in zip(trajectory.steps, record["trajectory"], strict=True):
        assert step.observation == entry["observation"]
        assert "(Open file:" not in step.observation and "bash-$" not in step.observation
    assert trajectory.steps[-1].action.tool == "submit"
    assert trajectory.steps[-1].observation == record["info"]["submission"]


def test_0x_rejected_reply_before_exit_format_is_not_a_step():
    record, trajectory = imported("swe_agent_0x_exit_format.traj")
    assert "pytest" in record["history"][-1]["content"]
    assert [step.action.arguments["command"] for step in trajectory.steps] == ['grep -n "def modulo" calc/ops.py']


def test_1x_requeried_replies_never_become_steps():
    record, trajectory = imported("swe_agent_1x_requery_exit_cost.traj")
    rejected = [entry for entry in record["trajectory"] if entry["state"] == {} and entry["observation"] == ""]
    assert len(rejected) == 2 and any(entry["action"].startswith("vim") for entry in rejected)
    said = [item["thought"] for item in record["history"] if item["role"] == "assistant" and item["action"]]
    assert [step.thought for step in trajectory.steps] == said
    assert not any("vim" in json.dumps(step.action.arguments) for step in trajectory.steps)


def test_1x_last_step_is_taken_from_trajectory_when_history_stops_early():
    record, trajectory = imported("swe_agent_1x_submit_only_in_trajectory.traj")
    assert not any(item.get("action") == "submit" for item in record["history"])
    last = trajectory.steps[-1]
    assert last.action.tool == "submit" and last.observation == record["trajectory"][-1]["observation"]
    assert last.observation == record["info"]["submission"]
    # a complete history is not extended: the submit is there once
    _, complete = imported("swe_agent_1x/acme__calc-12.traj")
    assert [step.action.tool for step in complete.steps].count("submit") == 1


def test_history_only_demonstration_is_read_without_status_suffix():
    record, trajectory = imported("swe_agent_demo_history_only.traj")
    assert set(record) == {"history"} and detect_format(record) == "swe-agent"
    assert all("(Open file:" not in step.observation and "bash-$" not in step.observation for step in trajectory.steps)
    diff = record["history"][-1]["content"].split("\n(Open file:")[0]
    assert trajectory.steps[-1].observation == diff and diff.endswith("return a % b\n \n \n")


def test_other_histories_are_not_claimed():
    openhands_events = {"history": [{"id": 0, "source": "user", "action": "message", "args": {"content": "fix it"}}]}
    assert not swe_agent.detect(openhands_events)
    assert not swe_agent.detect({"history": []})


def test_nebius_rows_of_swe_agent_0x_runs_keep_scaffold_exits_out_of_the_steps():
    """nebius rows are SWE-agent 0.x histories: an ``ai`` turn whose command is ``exit_cost`` is the
    scaffold's, not the expert's; the row's exit_status records it."""
    from srl_swe.formats import nebius

    issue = "ISSUE:\ndivide() returns inf\n\nINSTRUCTIONS:\nfix it"
    row = {"instance_id": "acme__calc-12", "model_name": "gpt-4", "target": False,
           "exit_status": "submitted (exit_cost)", "generated_patch": "diff --git a/x b/x\n",
           "trajectory": [{"role": "system", "text": "You are an agent."}, {"role": "user", "text": issue},
                          {"role": "ai", "text": "Look first.\n```\nopen calc/ops.py\n```"},
                          {"role": "user", "text": "[File: calc/ops.py]\n1:def divide(a, b):"},
                          {"role": "ai", "text": "Out of budget.\n```\nexit_cost\n```"},
                          {"role": "user", "text": "Exited (autosubmitted)"}]}
    trajectory = nebius.convert(row, "rows.jsonl:1")
    steps = [(s.action.tool, s.action.arguments) for s in trajectory.steps]
    assert steps == [("bash", {"command": "open calc/ops.py"})]
    assert trajectory.steps[0].observation == "[File: calc/ops.py]\n1:def divide(a, b):"
    assert trajectory.outcome.exit_status == "submitted (exit_cost)"
