"""Running a hand-off page's shell blocks as a reader does, against the emulator.

The page says to run its first block (the variables) once in each new shell; every other block uses what it set.
`PageShell` runs the variables block once, keeps the variables it set (as `declare -p` prints them), and runs
each later block in a new bash that starts with those variables. Running the variables block again before each
block, as the rehearsals did before, gave the same variables for three AWS CLI calls more per block.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from emulator.server import DUMMY_AWS_ENV, UNSET_AWS_ENV
from tests.handoff_blocks import Block

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "output" / "tap-stack.md"
BIN = Path(sys.executable).parent
BLOCK_TIMEOUT = 600
# Prints, after the block, every variable the block made (the shell's own and the environment's are there before).
CAPTURE = """
for __tap_name in $(compgen -v); do
  case "$__tap_name" in __tap_* | BASH* | PIPESTATUS | FUNCNAME | _) continue ;; esac
  case " $__tap_before " in *" $__tap_name "*) ;; *) declare -p "$__tap_name" ;; esac
done >"$__TAP_VARIABLES"
"""


def environment(endpoint: str, cli_bin: Path) -> dict[str, str]:
    """The environment of the blocks: dummy credentials, the emulator's endpoint, the AWS CLI of the project."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in UNSET_AWS_ENV}
    env.update(DUMMY_AWS_ENV)
    # The one change to how the commands run: every AWS CLI call goes to the emulator on 127.0.0.1.
    env["AWS_ENDPOINT_URL"] = endpoint
    # `aws` and `cfn-lint` from the command server (tests/cli_server.py), then the rest of the virtualenv.
    env["PATH"] = os.pathsep.join([str(cli_bin), str(BIN), env.get("PATH", "")])
    return env


class PageShell:
    """A reader's terminal: the variables block once, then each block in a new shell that has its variables."""

    def __init__(self, first: Block, cwd: Path, env: dict[str, str]) -> None:
        self.first = first
        self.cwd = cwd
        self.env = env
        self.variables: str | None = None

    def _bash(self, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )

    def run_variables_block(self) -> subprocess.CompletedProcess[str]:
        script = '__tap_before=" $(compgen -v | tr "\\n" " ") "\n' + self.first.body + "\n" + CAPTURE
        with tempfile.TemporaryDirectory() as folder:
            capture = Path(folder) / "variables"
            result = self._bash(script, {**self.env, "__TAP_VARIABLES": str(capture)})
            if result.returncode == 0:
                self.variables = capture.read_text(encoding="utf-8")
        return result

    def run(self, block: Block) -> subprocess.CompletedProcess[str]:
        if block.index == self.first.index:
            return self.run_variables_block()
        if self.variables is None:
            ready = self.run_variables_block()
            assert ready.returncode == 0, f"the variables block failed:\n{ready.stdout}\n{ready.stderr}"
        assert self.variables is not None
        return self._bash(self.variables + block.body, self.env)

    def values(self, *names: str) -> list[str]:
        """The values the variables block gave these names."""
        echo = "\n".join(f'printf "%s\\n" "${name}"' for name in names)
        result = self._bash((self.variables or self.first.body + "\n") + echo, self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[-len(names) :]
