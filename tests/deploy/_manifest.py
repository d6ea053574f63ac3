"""Shared by the manifest tests: small templates with outputs, and a manifest written next to them."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any

from deployer.clients import ClientSettings
from deployer.fleet.budget import Budgets
from deployer.fleet.manifest import Manifest
from deployer.fleet.runner import StackRunner, Waiting

NETWORK = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "net-${Env}"}}}
    },
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
}
APP = {
    "Parameters": {"Upstream": {"Type": "String"}, "Size": {"Type": "String", "Default": "small"}},
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "app-${Size}"}}}
    },
    "Outputs": {"Up": {"Value": {"Ref": "Upstream"}}},
}


def write_templates(folder: Path) -> None:
    (folder / "network.json").write_text(json.dumps(NETWORK), encoding="utf-8")
    (folder / "app.json").write_text(json.dumps(APP), encoding="utf-8")


def write_manifest(folder: Path, text: str, name: str = "stacks.toml") -> Path:
    write_templates(folder)
    path = folder / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def template(resources: int, prefix: str) -> dict[str, Any]:
    return {
        "Resources": {
            f"Topic{i}": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{prefix}-{i}"}}
            for i in range(resources)
        }
    }


def stack_runner(manifest: Manifest, action: str) -> StackRunner:
    """A manifest's runner for one stack at a time, with the default client settings and no waiting between polls."""
    return StackRunner(
        manifest=manifest,
        action=action,
        base=ClientSettings(),
        waiting=Waiting(60, 0, 0),
        budgets=Budgets(1.0, 1, time.monotonic, time.sleep),
        stream=io.StringIO(),
        stop=threading.Event(),
        resume=lambda key: key,
    )
