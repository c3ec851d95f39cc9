"""Read gate.yaml with the safe loader, noting the line and column of every key and value."""

from __future__ import annotations

from typing import Any, NoReturn

import yaml

from gate.config.document import ConfigDocument, KeyPath, Position, format_problem
from gate.errors import ConfigError

# gate.yaml is a few dozen values; anchors that expand past these limits are an
# attack ("billion laughs") or a mistake, and expanding them is what would hang.
MAX_ALIAS_USES = 100
MAX_ALIAS_NODES = 10_000

_YAML_TAG = "tag:yaml.org,2002:"
_MAP_TAG = _YAML_TAG + "map"
_SEQ_TAG = _YAML_TAG + "seq"
_MERGE_TAG = _YAML_TAG + "merge"
# Scalars a config can hold; !!binary and application tags (!!python/...) are refused.
_SCALAR_TAGS = {_YAML_TAG + kind for kind in ("str", "int", "float", "bool", "null", "timestamp")}


def parse_yaml(text: str, display: str) -> ConfigDocument:
    """Parse gate.yaml with the safe loader; every problem is a ConfigError naming line:col."""
    try:
        loader = yaml.SafeLoader(text)  # the reader checks every character up front
    except yaml.reader.ReaderError as exc:
        raise ConfigError(_reader_message(exc, text, display)) from None
    try:
        root = loader.get_single_node()
        if root is None or (root.tag == _YAML_TAG + "null" and not root.value):
            raise ConfigError(
                f"{display}: the file is empty (no settings, only blank lines or comments); "
                "write `{}` to accept every default, "
                "or run `gate init --force` to replace it with a commented gate.yaml"
            )
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(
                format_problem(
                    display,
                    _location(root),
                    (),
                    "the top of the file must be a mapping of settings such as `tests:` "
                    f"and `coverage:`, but it is {_node_kind(root)}",
                )
            )
        builder = _Builder(loader, display)
        data = builder.build(root, ())
        return ConfigDocument(data, builder.values, builder.keys, builder.texts)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_syntax_message(exc, display)) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(_reader_message(exc, text, display)) from None
    except RecursionError:  # PyYAML composes nested lists and mappings recursively
        raise ConfigError(
            f"{display}: invalid YAML: lists or mappings are nested too deeply; "
            "gate.yaml needs only a few levels"
        ) from None
    finally:
        loader.dispose()


class _Builder:
    """Turns the composed node tree into dicts, lists and scalars, noting positions."""

    def __init__(self, loader: yaml.SafeLoader, display: str) -> None:
        self.loader = loader
        self.display = display
        self.values: dict[KeyPath, Position] = {}
        self.keys: dict[KeyPath, Position] = {}
        self.texts: dict[KeyPath, str] = {}
        # The composer shares one node object between an anchor and its aliases, so a
        # node met twice is an alias use; one met while still being built is a cycle.
        self._seen: set[int] = set()
        self._open: set[int] = set()
        self._alias_uses = 0
        self._alias_depth = 0
        self._alias_nodes = 0

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if id(node) in self._open:
            self._fail(node, path, "this YAML alias refers to an anchor that contains it (a loop)")
        is_alias = id(node) in self._seen
        if is_alias:
            self._alias_uses += 1
        if self._alias_depth or is_alias:
            self._alias_nodes += 1
        if self._alias_uses > MAX_ALIAS_USES or self._alias_nodes > MAX_ALIAS_NODES:
            self._fail(
                node,
                (),
                f"too many YAML aliases (more than {MAX_ALIAS_USES} uses of anchors, or "
                f"more than {MAX_ALIAS_NODES} values once they are expanded); "
                "write the values out instead of using & and *",
            )
        self._seen.add(id(node))
        self.values[path] = _location(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self._open.add(id(node))
        self._alias_depth += is_alias
        try:
            if isinstance(node, yaml.SequenceNode):
                self._check_tag(node, path, _SEQ_TAG)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)  # the composer makes only three kinds
            self._check_tag(node, path, _MAP_TAG)
            return self._mapping(node, path)
        finally:
            self._alias_depth -= is_alias
            self._open.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._fail(node, path, f"unsupported YAML tag {_short_tag(node)}; remove it")
        value = self.loader.construct_object(node)
        if value is not None and not isinstance(value, str):
            self.texts[path] = node.value
        return value

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        pairs = node.value
        # Merge keys (<<: *defaults) first, so that explicit keys win, as YAML says.
        for key_node, value_node in pairs:
            if key_node.tag == _MERGE_TAG:
                result.update(self._merge_sources(value_node, path))
        self.values[path] = _location(node)
        first_line: dict[str, int] = {}
        for key_node, value_node in pairs:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, path, "keys must be plain names, not lists or mappings")
            # The key as typed: `on:` or `5432:` are names here, not a boolean or a number.
            key = str(key_node.value)
            here = _location(key_node)
            if key in first_line:
                self._fail(
                    key_node,
                    (*path, key),
                    f"duplicate key (first set on line {first_line[key]}); keep only one",
                )
            first_line[key] = here.line
            self.keys[(*path, key)] = here
            result[key] = self.build(value_node, (*path, key))
        return result

    def _merge_sources(self, node: yaml.Node, path: KeyPath) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):  # earlier sources win, so apply them last
            if not isinstance(source, yaml.MappingNode):
                self._fail(source, path, "`<<` must be given a mapping or a list of mappings")
            merged.update(self.build(source, path))
        return merged

    def _check_tag(self, node: yaml.Node, path: KeyPath, expected: str) -> None:
        if node.tag != expected:
            self._fail(node, path, f"unsupported YAML tag {_short_tag(node)}; remove it")

    def _fail(self, node: yaml.Node, path: KeyPath, message: str) -> NoReturn:
        raise ConfigError(format_problem(self.display, _location(node), path, message))


def _location(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _short_tag(node: yaml.Node) -> str:
    return node.tag.replace(_YAML_TAG, "!!")


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"a single value ({node.value!r})"


def _syntax_message(exc: yaml.MarkedYAMLError, display: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    head = display if mark is None else f"{display}:{mark.line + 1}:{mark.column + 1}"
    problem = exc.problem or exc.context or "unreadable YAML"
    if exc.context == "expected a single document in the stream":
        return f"{head}: invalid YAML: a second document starts here; gate.yaml holds one"
    message = f"{head}: invalid YAML: {problem}"
    if exc.context and exc.problem and exc.context_mark is not None:
        context = exc.context
        if exc.context_mark is not mark:
            context += f" at {exc.context_mark.line + 1}:{exc.context_mark.column + 1}"
        message += f" ({context})"
    if "'\\t'" in problem:
        message += "; indent with spaces, not tabs"
    return message


def _reader_message(exc: yaml.reader.ReaderError, text: str, display: str) -> str:
    line = text.count("\n", 0, exc.position) + 1
    col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    code = ord(exc.character) if isinstance(exc.character, str) else int(exc.character)
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return (
        f"{display}:{line}:{col}: invalid YAML: control character U+{code:04X} is not allowed; "
        f"remove it, or write {escape} inside double quotes"
    )
