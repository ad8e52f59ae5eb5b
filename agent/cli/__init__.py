"""The `mailorder` command line (Typer)."""

from mailorder.agent.cli.app import app, main

__all__ = ["app", "main"]
