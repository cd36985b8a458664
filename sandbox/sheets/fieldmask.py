"""FieldMask parsing and application (the `fields` of update requests and of GET responses).

https://developers.google.com/sheets/api/guides/field-masks — paths separated by `,`, segments by
`.` or `/`, and `a(b,c)` as shorthand for `a.b,a.c`. `*` means every field.
"""

from __future__ import annotations

import copy
from typing import Any

Tree = dict[str, "Tree"]


class FieldMaskError(ValueError):
    pass


def parse(text: str) -> Tree:
    """`gridProperties(rowCount,columnCount),title` → {"gridProperties": {"rowCount": {}, …}, …}."""
    tree: Tree = {}
    pos = _parse_list(text.replace(" ", ""), 0, tree)
    if pos != len(text.replace(" ", "")):
        raise FieldMaskError(f"Invalid field mask: {text!r}")
    return tree


def _parse_list(text: str, pos: int, into: Tree) -> int:
    while True:
        pos = _parse_path(text, pos, into)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return pos


def _parse_path(text: str, pos: int, into: Tree) -> int:
    start = pos
    while pos < len(text) and (text[pos].isalnum() or text[pos] in "_*"):
        pos += 1
    name = text[start:pos]
    if not name:
        raise FieldMaskError(f"Invalid field mask near position {start}: {text!r}")
    node = into.setdefault(name, {})
    if pos < len(text) and text[pos] in "./":
        return _parse_path(text, pos + 1, node)
    if pos < len(text) and text[pos] == "(":
        pos = _parse_list(text, pos + 1, node)
        if pos >= len(text) or text[pos] != ")":
            raise FieldMaskError(f"Unbalanced parentheses in field mask {text!r}")
        return pos + 1
    return pos


def paths(tree: Tree, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, sub in tree.items():
        if sub:
            out.extend(paths(sub, (*prefix, name)))
        else:
            out.append((*prefix, name))
    return out


def apply_update(target: dict[str, Any], source: dict[str, Any], tree: Tree) -> None:
    """Copy the masked fields from `source` into `target`; a masked field absent from `source`
    is cleared (that is how the API resets a field)."""
    for path in paths(tree):
        if path == ("*",):
            target.clear()
            target.update(copy.deepcopy(source))
            continue
        src: Any = source
        for name in path:
            src = src.get(name) if isinstance(src, dict) else None
        dst = target
        for name in path[:-1]:
            nxt = dst.get(name)
            if not isinstance(nxt, dict):
                nxt = {}
                dst[name] = nxt
            dst = nxt
        if src is None:
            dst.pop(path[-1], None)
        else:
            dst[path[-1]] = copy.deepcopy(src)


def filter_response(value: Any, tree: Tree) -> Any:
    """Keep only the masked fields of a response (lists apply the mask to each element)."""
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [filter_response(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, sub in tree.items():
        if name in value:
            out[name] = filter_response(value[name], sub)
    return out
