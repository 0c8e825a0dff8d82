"""Round-trip YAML editing with ruamel.yaml: comments, key order, quotes and layout preserved.

Rasa files mix list layouts (``intents:`` indents its items, ``responses:`` does not), and
ruamel.yaml knows only one layout per dump. :func:`save` therefore dumps the edited document in
both layouts and takes every top-level section from the layout that reproduces that section of
the original file exactly, so untouched sections stay byte for byte as they were.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.errors import BotError

# (mapping, sequence, offset): "key:\n- item" and "key:\n  - item"
_LAYOUTS: Tuple[Tuple[int, int, int], ...] = ((2, 2, 0), (2, 4, 2))
_TOP_KEY = re.compile(r"^[A-Za-z_][\w/-]*\s*:")
_UNICODE_ESCAPE = re.compile(r"(?<!\\)\\U([0-9A-Fa-f]{8})")


class YamlFileError(BotError):
    """A YAML file could not be read."""


def _yaml(layout: Tuple[int, int, int]) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True  # type: ignore[assignment]
    yaml.width = 100_000  # type: ignore[assignment]
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)

    def null(representer: Any, _value: None) -> Any:
        return representer.represent_scalar("tag:yaml.org,2002:null", "null")

    yaml.representer.add_representer(type(None), null)
    return yaml


def load(path: Path) -> Any:
    """The document at ``path`` as ruamel round-trip objects (CommentedMap/CommentedSeq)."""
    try:
        return _yaml(_LAYOUTS[0]).load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise YamlFileError(f"cannot read {path}: {error.strerror}") from None
    except Exception as error:  # ruamel's parser errors have no common public base
        raise YamlFileError(f"{path} is not valid YAML: {error}".splitlines()[0]) from None


def _dump(data: Any, layout: Tuple[int, int, int]) -> str:
    buffer = io.StringIO()
    _yaml(layout).dump(data, buffer)
    # ruamel escapes characters beyond the BMP (emoji) in double quotes; keep them readable.
    return _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), buffer.getvalue())


def _sections(text: str) -> List[Tuple[str, str]]:
    """(top-level key, text) pairs; text before the first key is keyed ""."""
    sections: List[Tuple[str, List[str]]] = [("", [])]
    for line in text.splitlines(keepends=True):
        if _TOP_KEY.match(line):
            sections.append((line.split(":", 1)[0].strip(), []))
        sections[-1][1].append(line)
    return [(key, "".join(lines)) for key, lines in sections]


def save(path: Path, data: Any, original: str) -> None:
    """Write ``data`` (loaded by :func:`load` from ``original``) back to ``path``."""
    original_dumps = {layout: dict(_sections(_dump(load_text(original), layout)))
                      for layout in _LAYOUTS}
    chosen: Dict[str, Tuple[int, int, int]] = {}
    for key, text in _sections(original):
        chosen[key] = next(
            (layout for layout in _LAYOUTS if original_dumps[layout].get(key) == text),
            _LAYOUTS[0],
        )
    edited = {layout: dict(_sections(_dump(data, layout))) for layout in _LAYOUTS}
    keys = [key for key, _ in _sections(_dump(data, _LAYOUTS[0]))]
    result = "".join(edited[chosen.get(key, _LAYOUTS[0])].get(key, "") for key in keys)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(result, encoding="utf-8")
    temporary.replace(path)


def load_text(text: str) -> Any:
    return _yaml(_LAYOUTS[0]).load(text)


def literal_lines(lines: List[str]) -> LiteralScalarString:
    """``- a\\n- b\\n`` as a literal block, the way Rasa NLU examples are written."""
    return LiteralScalarString("".join(f"- {line}\n" for line in lines))


def example_lines(block: Any) -> List[str]:
    """The examples of an ``examples: |`` block, without the leading ``- ``."""
    lines = []
    for raw in str(block or "").splitlines():
        stripped = raw.strip()
        if stripped.startswith("- "):
            lines.append(stripped[2:].strip())
        elif stripped == "-":
            continue
        elif stripped:
            lines.append(stripped)
    return lines


__all__ = [
    "CommentedMap",
    "CommentedSeq",
    "YamlFileError",
    "example_lines",
    "literal_lines",
    "load",
    "load_text",
    "save",
]
