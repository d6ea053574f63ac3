"""Troposphere builders for the web-application stack, one module per AWS component."""

from __future__ import annotations

from collections.abc import Callable

from troposphere import Template

from templates.tap_stack import build_tap_stack

# Every template generate.py writes: output/<name>.json
REGISTRY: dict[str, Callable[[], Template]] = {
    "tap-stack": build_tap_stack,
}
