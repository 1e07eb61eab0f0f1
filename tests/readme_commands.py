"""The commands README.md shows in its ```bash blocks, and where each one is run by a test.

One place lists them all (tests/test_readme_commands.py fails when README shows a command that is not listed here,
or when a listed one left README): a command is run by that test file itself on a copy of the newcomer's fresh
clone (RUN_HERE), or by the test named in ELSEWHERE (which must hold the evidence string, so a moved or deleted
test fails the check), or it needs what no test can have (NOT_RUN, with the reason: a placeholder for the user's
own download).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def strip_comment(line: str) -> str:
    """`line` without a trailing `# comment` (a `#` outside quotes, after whitespace)."""
    quote = None
    for i, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def complete(command: str) -> bool:
    """Whether the shell would run `command` as it stands: no trailing backslash, no quote left open."""
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:  # "No closing quotation": the command goes on on the next line
        return False
    return True


def commands_and_outputs(text: str | None = None) -> list[tuple[str, str]]:
    """(command, the output README shows under it) for every command of README's bash blocks: continuation lines
    joined, comments dropped; in a block with `$ ` prompts, the other lines are the commands' output."""
    text = (REPO / "README.md").read_text() if text is None else text
    found: list[tuple[str, str]] = []
    for block in BLOCK.findall(text):
        lines = block.splitlines()
        prompted = any(line.startswith("$ ") for line in lines)
        command, output = "", []
        for line in lines:
            if command and not complete(command):
                command = command.removesuffix("\\").rstrip() + " " + line.strip()
            elif prompted and not line.startswith("$ "):
                output.append(line.strip())
            else:
                if command:
                    found.append((command, " ".join(output)))
                command, output = strip_comment(line.removeprefix("$ ")), []
                if command and complete(command):
                    command = " ".join(command.split())
        if command:
            found.append((command, " ".join(output)))
    return [(" ".join(strip_comment(c).split()), o) for c, o in found if c.strip()]


def readme_commands(text: str | None = None) -> list[str]:
    return [command for command, _ in commands_and_outputs(text)]


# command -> (the file that runs it, a string that file holds where it does)
ELSEWHERE: dict[str, tuple[str, str]] = {
    "make run": ("tests/conftest.py", '"run"]'),  # the newcomer fixture: MAKE_RUN, twice, on a fresh clone
    "make test": (".ci/run", "make test"),  # CI's whole job
    "make serve": ("tests/test_newcomer.py", '"serve"'),
    "dvc exp run --temp -n census -S problem=penguins_census": (
        "tests/test_public_tables_e2e.py",
        '"--temp", "-n", "census", "-S", "problem=penguins_census"',
    ),
    "dvc exp apply census": ("tests/test_public_tables_e2e.py", '"exp", "apply", "census"'),
    "dvc exp run -S problem=penguins": ("tests/test_public_tables_e2e.py", '"penguins", "car_mpg", "penguins_census"'),
    'curl -s -X POST http://127.0.0.1:8501/v1/models/bike_demand:predict -d \'{"instances": [{"season": 2, '
    '"hr": 14, "holiday": 0, "weekday": 3, "workingday": 1, "weathersit": "cloudy/misty", "temp": 0.42, '
    '"atemp": 0.4242, "hum": 0.77, "windspeed": 0.2537}]}\'': ("tests/test_newcomer.py", 'startswith("curl ")'),
    "curl -s http://127.0.0.1:8501/v1/models/bike_demand": ("tests/test_newcomer.py", 'startswith("curl ")'),
    'curl -s -X POST http://127.0.0.1:8501/v1/models/bike_demand:predict -d \'{"instances": [{"season": 2, '
    '"hr": 14, "holiday": 0, "weekday": 3, "workingday": 1, "weathersit": "sunny", "temp": 0.42, '
    '"atemp": 0.4242, "hum": 0.77, "windspeed": 0.2537}]}\'': ("tests/test_newcomer.py", 'startswith("curl ")'),
    "dvc exp run -S problem=fashion_mnist": ("tests/conftest.py", '"-S", "problem=fashion_mnist"'),
    "dvc exp run -S problem=breast_cancer": ("tests/test_breast_cancer_e2e.py", '"-S", "problem=breast_cancer"'),
    # store commands that need versions 3 and 4: on a store the test fills (the S3 one; the CLI is the same)
    'python -m tasks.store.cli promote 3 --reason "candidate reviewed"': (
        "tests/serving/test_model_store_s3.py",
        '"promote", "2", "--reason"',
    ),
    'python -m tasks.store.cli rollback --reason "v3 over-predicts on rainy days"': (
        "tests/serving/test_model_store_s3.py",
        '"rollback", "--reason"',
    ),
    'python -m tasks.store.cli promote 4 --reason "hotfix" --unblessed-reason "gate baseline is stale"': (
        "tests/serving/test_model_store_s3.py",
        '"--unblessed-reason"',
    ),
    "python -m tasks.store.cli shadow 4": ("tests/serving/test_model_store_s3.py", '"shadow", "2"'),
    # the local stack: what the make targets run (python -m infra.stack up/status/down), its env file, the client
    "make stack-up": ("tests/orchestration/test_stack.py", 'stack_command("up"'),
    "make stack-status": ("tests/orchestration/test_stack.py", 'stack_command("status"'),
    "make stack-down": ("tests/orchestration/test_stack.py", 'stack_command("down"'),
    "source .stack/env": ("tests/orchestration/test_stack.py", '(folder / "env")'),
    "prefect deployment ls": ("tests/orchestration/test_deployments.py", '"deployment", "ls"'),
    "prefect deployment run training-pipeline/nightly": (
        "tests/orchestration/test_deployments.py",
        '"deployment", "run", "training-pipeline/nightly"',
    ),
    "prefect event emit trainline.drift.detected --resource-id trainline.model.bike_demand --payload "
    '\'{"drift_share": 0.6, "window": {"from": "2011-05-01", "to": "2011-05-31"}}\'': (
        "tests/orchestration/test_stack.py",
        '"prefect", "event", "emit", "trainline.drift.detected"',
    ),
}

# command -> why no test runs it as written
NOT_RUN: dict[str, str] = {
    "dvc exp run -S problem=fashion_mnist "
    "-S 'pipelines/fashion_mnist/params.yaml:collect.source=/path/to/fashion-mnist' "
    "-S 'pipelines/fashion_mnist/params.yaml:evaluate.gate.floors.accuracy.min=0.91'": (
        "/path/to/fashion-mnist is the user's download of the full release (70,000 images), which no machine here "
        "can fetch; the same command on the bundled sample is image_workspace's (tests/conftest.py)"
    ),
}
