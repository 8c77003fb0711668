"""The README's promises about the project itself."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_readme_gives_exactly_two_commands():
    commands = _commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "examples/train_digits.py" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci


def test_main_job_script_exists():
    assert (ROOT / "examples" / "train_digits.py").is_file()


def test_main_job_trains_every_cost_and_solver():
    import subprocess
    import sys

    script = ROOT / "examples" / "train_digits.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    )
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert len(rows) == 12
    accuracy = {(row[0], row[1]): float(row[2]) for row in rows}
    assert {cost for cost, _ in accuracy} == {"log_loss", "cross_entropy", "quadratic"}
    # Every pairing learns the digits except quadratic cost + full-batch
    # gradient descent, which is stuck in the learning slowdown.
    for (cost, solver), value in accuracy.items():
        if (cost, solver) != ("quadratic", "gd"):
            assert value > 0.94, (cost, solver, value)
    assert accuracy["quadratic", "gd"] < accuracy["cross_entropy", "gd"] - 0.2
