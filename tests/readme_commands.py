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
