"""Tools a test needs from outside Python (a browser, a server binary): found, or the test says how to get them.

On a developer's machine a missing tool skips the tests that need it, with the install command. Under `CI=true`
it fails them: a claim CI never checks is a claim that can break unnoticed, so CI must install what the suite
needs (`.ci/run` does) rather than pass by skipping.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing_tool(what: str, how_to_install: str) -> None:
    """Skip (locally) or fail (under CI=true) the current test because `what` is not installed."""
    message = f"{what} is not installed; install it with: {how_to_install}"
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)
