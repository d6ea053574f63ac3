"""Deploy CloudFormation stacks through change sets: `python deploy.py --help`, reference in docs/deploy.md."""

from __future__ import annotations

import sys

from deployer import cli


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
