"""Versioned prompt files from the `prompts` package: `extract_v1.md`, `extract_v2.md`, ...

Each file starts with a front-matter block holding its version:

    ---
    version: extract-v1
    ---
    <prompt text>
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

PROMPT_PACKAGE = "mailorder.prompts"
_FILE_NAME = re.compile(r"^(?P<name>[a-z0-9_]+?)_v(?P<number>\d+)\.md$")


class PromptNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Prompt:
    version: str  # e.g. "extract-v1", recorded on every draft
    text: str


def parse_prompt_file(raw: str, default_version: str) -> Prompt:
    """Split the front matter (or a leading `version:` line) from the prompt text."""
    lines = raw.splitlines()
    meta: dict[str, str] = {}
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            meta = _key_values(lines[1:end])
            lines = lines[end + 1 :]
    elif lines and lines[0].lower().startswith("version:"):
        meta = _key_values(lines[:1])
        lines = lines[1:]
    return Prompt(version=meta.get("version") or default_version, text="\n".join(lines).strip())


def available_versions(name: str = "extract", folder: Traversable | None = None) -> list[int]:
    """Version numbers of the prompt files for `name`, ascending."""
    folder = folder or resources.files(PROMPT_PACKAGE)
    numbers = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match and match["name"] == name:
            numbers.append(int(match["number"]))
    return sorted(numbers)


def load_prompt(
    name: str = "extract", version: str | int | None = None, folder: Traversable | None = None
) -> Prompt:
    """The prompt `name` at `version` ("extract-v2", "v2" or 2); the latest when None."""
    folder = folder or resources.files(PROMPT_PACKAGE)
    numbers = available_versions(name, folder)
    if not numbers:
        raise PromptNotFound(f"no prompt files for {name!r}")
    number = numbers[-1] if version is None else _version_number(name, version)
    entry = folder / f"{name}_v{number}.md"
    if not entry.is_file():
        raise PromptNotFound(f"prompt {name!r} version {version!r} not found (have {numbers})")
    return parse_prompt_file(entry.read_text(encoding="utf-8"), default_version=f"{name}-v{number}")


def _version_number(name: str, version: str | int) -> int:
    if isinstance(version, int):
        return version
    match = re.fullmatch(rf"(?:{re.escape(name)}[-_])?v?(\d+)", version.strip().lower())
    if not match:
        raise PromptNotFound(f"cannot read prompt version {version!r} (use e.g. {name}-v2)")
    return int(match[1])


def _key_values(lines: list[str]) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {key.strip().lower(): value.strip() for key, value in pairs}
