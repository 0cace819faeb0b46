"""
YAML front matter loaded with a bound on what aliases can expand to.

``yaml.safe_load`` builds an alias as a second reference to the same object, so loading an
alias bomb (``a: &a [x, x]``, ``b: &b [*a, *a]``, … ten levels) is cheap, but every walk over
the result (validation, ``repr``, ``json.dumps``, a writer) visits 2**levels nodes. Here the
node graph is composed first, its expanded size counted (each node once, memoized) and the
document refused when it would expand past :data:`MAX_EXPANDED_NODES` or refers to itself.
Deep nesting, which the recursive composer cannot follow, is refused the same way.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_EXPANDED_NODES", "YAMLLimitError", "load_yaml"]

#: Nodes the document may hold once every alias is expanded.
MAX_EXPANDED_NODES = 100_000


class YAMLLimitError(yaml.YAMLError):
    """
    The YAML document expands past the cap, is recursive, or nests too deeply.
    """


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def expanded_size(root: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """
    The node count of *root* with every alias expanded (at most *limit* + 1: counting stops
    there), in time linear in the composed graph.

    Raises:
        YAMLLimitError: the graph has a cycle (a recursive alias).
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(c)] for c in _children(node)))
            continue
        if key in sizes:
            continue
        if key in active:
            raise YAMLLimitError("the YAML refers to itself (a recursive alias)")
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in active:
                raise YAMLLimitError("the YAML refers to itself (a recursive alias)")
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def load_yaml(source: str, *, limit: int = MAX_EXPANDED_NODES) -> Any:
    """
    ``yaml.safe_load(source)``, refusing documents that expand past *limit* nodes.

    Raises:
        yaml.YAMLError: not valid YAML; :class:`YAMLLimitError` for the caps.
    """
    loader = yaml.SafeLoader(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = expanded_size(node, limit)
        if size > limit:
            raise YAMLLimitError(f"the YAML expands to more than {limit} nodes (aliases counted in full)")
        return loader.construct_document(node)
    except RecursionError:
        raise YAMLLimitError("the YAML nests too deeply") from None
    finally:
        loader.dispose()
