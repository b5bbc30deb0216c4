"""Per-parameter, return and yield descriptions read from a tool's docstring, for its schema.

Three common styles are read; anything else yields nothing (never a guess from prose):

    Google:  Args: / Arguments: / Parameters: / Keyword Args:   `name (type): text` or `name: text`
             Returns: / Yields:                                  the section's text
    Sphinx:  :param name: text / :param type name: text, :returns: text, :yields: text
    NumPy:   Parameters / Returns / Yields, underlined with dashes; `name : type` then indented text

Descriptions are whitespace-normalised (continuation lines joined with single spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

__all__ = ["DocstringParts", "parse_docstring"]


@dataclass(frozen=True)
class DocstringParts:
    parameters: Dict[str, str] = field(default_factory=dict)
    returns: Optional[str] = None
    yields: Optional[str] = None


_GOOGLE_PARAMETERS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "other parameters"}
_GOOGLE_RETURNS = {"returns", "return"}
_GOOGLE_YIELDS = {"yields", "yield"}
_GOOGLE_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
# "int: the sum" -> "the sum" (a leading type without spaces, as Google style writes returns).
_LEADING_TYPE = re.compile(r"^[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*:\s+(.+)$", re.DOTALL)
_SPHINX_FIELD = re.compile(r"^:(param|parameter|arg|argument|key|keyword|returns?|yields?)((?:\s+[^:]+)?):\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}([A-Za-z_]\w*)\s*(?::.*)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(lines: List[str]) -> str:
    return " ".join(part.strip() for part in lines if part.strip())


def _block(lines: List[str], start: int, parent_indent: int) -> Tuple[List[str], int]:
    """The lines after `start` indented deeper than `parent_indent` (blank lines included), and
    the index of the first line after them."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > parent_indent):
        end += 1
    return lines[start:end], end


def _entries(block: List[str], pattern: "re.Pattern[str]", inline: bool) -> Dict[str, str]:
    """Entries of a parameter section: a line at the section's entry indent starts one, deeper
    lines continue it. `inline`: the text may start on the entry's own line (Google)."""
    found: Dict[str, str] = {}
    content = [line for line in block if line.strip()]
    if not content:
        return found
    entry_indent = min(_indent(line) for line in content)
    name: Optional[str] = None
    text: List[str] = []
    for line in content + [""]:
        if line and _indent(line) > entry_indent and name is not None:
            text.append(line)
            continue
        if name is not None and _join(text):
            found[name] = _join(text)
        name, text = None, []
        if not line or _indent(line) != entry_indent:
            continue
        match = pattern.match(line.strip())
        if match:
            name = match.group(1)
            text = [match.group(2)] if inline else []
    return found


class _Collected:
    def __init__(self) -> None:
        self.parameters: Dict[str, str] = {}
        self.returns: Optional[str] = None
        self.yields: Optional[str] = None

    def add_parameters(self, found: Dict[str, str]) -> None:
        for name, text in found.items():
            self.parameters.setdefault(name, text)

    def set_result(self, yields: bool, text: str) -> None:
        if not text:
            return
        if yields:
            self.yields = self.yields or text
        else:
            self.returns = self.returns or text


def _google(lines: List[str], parts: _Collected) -> None:
    index = 0
    while index < len(lines):
        match = _GOOGLE_HEADER.match(lines[index].strip())
        if not match:
            index += 1
            continue
        header = match.group(1).strip().lower()
        block, end = _block(lines, index + 1, _indent(lines[index]))
        if header in _GOOGLE_PARAMETERS:
            parts.add_parameters(_entries(block, _GOOGLE_ENTRY, inline=True))
        elif header in _GOOGLE_RETURNS or header in _GOOGLE_YIELDS:
            text = _join(block)
            typed = _LEADING_TYPE.match(text)
            parts.set_result(header in _GOOGLE_YIELDS, typed.group(1) if typed else text)
        index = max(end, index + 1)


def _numpy(lines: List[str], parts: _Collected) -> None:
    for index in range(len(lines) - 1):
        underline = lines[index + 1].strip()
        if len(underline) < 3 or set(underline) != {"-"}:
            continue
        header = lines[index].strip().lower()
        section_indent = _indent(lines[index])
        end = index + 2
        while end < len(lines) and not (
            lines[end].strip()
            and _indent(lines[end]) <= section_indent
            and end + 1 < len(lines)
            and set(lines[end + 1].strip() or "x") == {"-"}
        ):
            end += 1
        block = lines[index + 2 : end]
        if header in ("parameters", "other parameters"):
            parts.add_parameters(_entries(block, _NUMPY_ENTRY, inline=False))
        elif header in ("returns", "yields"):
            content = [line for line in block if line.strip()]
            if content:
                entry_indent = min(_indent(line) for line in content)
                parts.set_result(header == "yields", _join([line for line in content if _indent(line) > entry_indent]))


def _sphinx(lines: List[str], parts: _Collected) -> None:
    index = 0
    while index < len(lines):
        match = _SPHINX_FIELD.match(lines[index].strip())
        if not match:
            index += 1
            continue
        block, end = _block(lines, index + 1, _indent(lines[index]))
        text = _join([match.group(3)] + block)
        kind, argument = match.group(1), match.group(2).split()
        if kind.startswith("return") or kind.startswith("yield"):
            parts.set_result(kind.startswith("yield"), text)
        elif argument and text:
            parts.add_parameters({argument[-1].lstrip("*"): text})
        index = max(end, index + 1)


def parse_docstring(doc: Optional[str]) -> DocstringParts:
    """The described parameters, return value and yielded items of a (cleaned) docstring."""
    if not doc:
        return DocstringParts()
    lines = doc.expandtabs().splitlines()
    parts = _Collected()
    _sphinx(lines, parts)
    _numpy(lines, parts)
    _google(lines, parts)
    return DocstringParts(parameters=parts.parameters, returns=parts.returns, yields=parts.yields)
