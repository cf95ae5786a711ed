"""The docker provider's build-context digest, so the harness rebuilds exactly when it would.

pulumi/pulumi-docker provider/provider.go, `Check` → `hashContext(context, dockerfile)`:
the Dockerfile's bytes (always under the name "Dockerfile"), then every file the
build context would send — walked with the ignore file's patterns
(`getIgnorePatterns`: `<dockerfile>.dockerignore` first, else `<context>/.dockerignore`)
— by relative path, mode and content. The digest becomes the input
`build.contextDigest`, so `Diff` sees a change (→ `Update`, a rebuild) when a sent
file changes and nothing otherwise; a moved base image alone never rebuilds.

The ignore patterns follow moby/patternmatcher (`Pattern.compile`,
`MatchesOrParentMatches`): `*` and `?` stop at `/`, `**` spans directories, a
leading `!` re-includes, the last matching pattern wins and a pattern matching a
parent directory matches its files. Escapes (`\\`) are not supported: they fail loudly.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path


class UnsupportedPattern(AssertionError):
    """An ignore pattern the harness cannot evaluate exactly as Docker does."""


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool


def _compile(line: str) -> _Pattern:
    exclusion = line.startswith("!")
    text = line[1:].strip() if exclusion else line
    if "\\" in text:
        raise UnsupportedPattern(f"ignore pattern {line!r}: escapes are not supported")
    text = os.path.normpath(text).lstrip("/") if text else text
    out = "^"
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "*" and text[i + 1 : i + 2] == "*":
            i += 2
            if text[i : i + 1] == "/":
                i += 1
            out += ".*" if i >= len(text) else "(.*/)?"
            continue
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch in "[]-^":
            out += ch
        else:
            out += re.escape(ch)
        i += 1
    return _Pattern(re.compile(out + "$"), exclusion)


def read_patterns(context: Path, dockerfile: Path) -> list[_Pattern]:
    for candidate in (Path(f"{dockerfile}.dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            lines = [ln.strip() for ln in candidate.read_text().splitlines()]
            return [_compile(ln) for ln in lines if ln and not ln.startswith("#")]
    return []


def excluded(relative: str, patterns: list[_Pattern]) -> bool:
    """moby/patternmatcher `MatchesOrParentMatches` for a slash-separated relative path."""
    parts = relative.split("/")
    parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
    matched = False
    for pattern in patterns:
        if pattern.exclusion != matched:
            continue
        hit = bool(pattern.regex.match(relative)) or any(pattern.regex.match(p) for p in parents)
        if hit:
            matched = not pattern.exclusion
    return matched


def sent_files(context: Path, dockerfile: Path) -> list[str]:
    """Relative paths of the files `docker build` sends for this context, sorted."""
    patterns = read_patterns(context, dockerfile)
    found: list[str] = []
    for root, _dirs, files in os.walk(context):
        for name in files:
            relative = (Path(root) / name).relative_to(context).as_posix()
            if not excluded(relative, patterns):
                found.append(relative)
    return sorted(found)


def digest(context: Path, dockerfile: Path) -> str:
    """The equivalent of the provider's `contextDigest` (equal inputs ⇔ equal digests)."""
    h = hashlib.sha256()

    def add(path: Path, name: str) -> None:
        h.update(name.encode() + b"\0")
        h.update(oct(path.stat().st_mode).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())

    add(dockerfile, "Dockerfile")
    for relative in sent_files(context, dockerfile):
        add(context / relative, relative)
    return h.hexdigest()
