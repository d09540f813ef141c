"""Docs as a contract: every CLI command and every setting is documented in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main

from accord.cli.main import app
from accord.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix="accord"):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}"


def test_every_cli_command_is_documented():
    names = list(_commands(typer.main.get_command(app)))
    assert len(names) >= 8
    missing = [n for n in names if f"`{n}" not in README]
    assert missing == []


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert f"`ACCORD_{name.upper()}`" in README, name
        assert field.description, name
