"""Versioned prompt files: `extract_v1.md`, `extract_v2.md`, `edit_v1.md`, ...

They come from the `prompts` package, or from an admin's own folder (`MAILORDER_PROMPTS_DIR`,
installed process-wide with `use_prompts_dir`). Each file starts with a front-matter block holding
its version, which is recorded on every draft:

    ---
    version: extract-v1
    ---
    <prompt text>

Which version is live is a setting (`MAILORDER_PROMPT_VERSION`, `MAILORDER_EDIT_PROMPT_VERSION`);
without one the newest file is used, and `serve` logs which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

PROMPT_PACKAGE = "mailorder.prompts"
PROMPT_NAMES = ("extract", "edit")  # extraction of an order email; a rep's free-text edit request
_FILE_NAME = re.compile(r"^(?P<name>[a-z0-9_]+?)_v(?P<number>\d+)\.md$")
_folder: Traversable | None = None  # MAILORDER_PROMPTS_DIR, when set


class PromptNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Prompt:
    version: str  # e.g. "extract-v1", recorded on every draft
    text: str


@dataclass(frozen=True)
class PromptFile:
    name: str  # extract, edit
    number: int
    file: str  # where it was read from
    prompt: Prompt


def use_prompts_dir(folder: Path | None) -> None:
    """Read prompts from this folder from now on (None: the bundled `prompts` package)."""
    global _folder
    if folder is not None and not Path(folder).is_dir():
        raise PromptNotFound(f"prompts folder {folder} does not exist")
    _folder = Path(folder) if folder is not None else None


def prompts_folder() -> Traversable:
    return _folder if _folder is not None else resources.files(PROMPT_PACKAGE)


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
    folder = folder or prompts_folder()
    numbers = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match and match["name"] == name:
            numbers.append(int(match["number"]))
    return sorted(numbers)


def load_prompt(
    name: str = "extract", version: str | int | None = None, folder: Traversable | None = None
) -> Prompt:
    """The prompt `name` at `version` ("extract-v2", "v2" or 2); the newest when None."""
    folder = folder or prompts_folder()
    numbers = available_versions(name, folder)
    if not numbers:
        raise PromptNotFound(f"no prompt files for {name!r} in {_where(folder)}")
    number = numbers[-1] if version is None else _version_number(name, version)
    entry = folder / f"{name}_v{number}.md"
    if not entry.is_file():
        raise PromptNotFound(
            f"prompt {name}-v{number} not found in {_where(folder)} "
            f"(have {', '.join(f'{name}-v{n}' for n in numbers)})"
        )
    return parse_prompt_file(entry.read_text(encoding="utf-8"), default_version=f"{name}-v{number}")


def list_prompts(folder: Traversable | None = None) -> list[PromptFile]:
    """Every prompt file in the folder, by name and version."""
    folder = folder or prompts_folder()
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            number = int(match["number"])
            prompt = parse_prompt_file(entry.read_text(encoding="utf-8"), f"{match['name']}-v{number}")
            found.append(PromptFile(match["name"], number, entry.name, prompt))
    return sorted(found, key=lambda p: (p.name, p.number))


def find_prompt(version: str, folder: Traversable | None = None) -> Prompt:
    """A prompt by its full version ("extract-v2", "edit-v1"); a bare "v2" means the extraction prompt."""
    text = version.strip().lower()
    match = re.fullmatch(r"(?P<name>[a-z0-9_]+?)[-_]v?(?P<number>\d+)", text)
    if match and match["name"] in {p.name for p in list_prompts(folder)} | set(PROMPT_NAMES):
        return load_prompt(match["name"], int(match["number"]), folder)
    return load_prompt("extract", version, folder)


def _version_number(name: str, version: str | int) -> int:
    if isinstance(version, int):
        return version
    match = re.fullmatch(rf"(?:{re.escape(name)}[-_])?v?(\d+)", version.strip().lower())
    if not match:
        raise PromptNotFound(f"cannot read prompt version {version!r} (use e.g. {name}-v2)")
    return int(match[1])


def _where(folder: Traversable) -> str:
    return str(folder) if isinstance(folder, Path) else "the bundled prompts"


def _key_values(lines: list[str]) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {key.strip().lower(): value.strip() for key, value in pairs}
