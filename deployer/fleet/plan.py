"""The dependency graph of a manifest: cycle detection, the order stacks may start in, and --only selection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from deployer.errors import BadInput

Graph = Mapping[str, Sequence[str]]  # stack -> the stacks it depends on


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle (as a path of stacks) if there is any; dependencies on unknown stacks are ignored here."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, ()):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return path[path.index(dep) :]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(graph: Graph) -> list[str]:
    """Every stack after the stacks it depends on; ties keep the manifest's order (the graph's key order)."""
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(graph)
    while remaining:
        ready = [n for n in remaining if all(d in placed or d not in graph for d in graph[n])]
        if not ready:
            raise ValueError(f"dependency cycle among {', '.join(remaining)}")
        for node in ready:
            done.append(node)
            placed.add(node)
        remaining = [n for n in remaining if n not in placed]
    return done


def dependants(graph: Graph, failed: str) -> set[str]:
    """Every stack that needs `failed`, directly or through others."""
    out: set[str] = set()
    frontier = [failed]
    while frontier:
        current = frontier.pop()
        for node, deps in graph.items():
            if current in deps and node not in out:
                out.add(node)
                frontier.append(node)
    return out


def select(graph: Graph, only: Iterable[str]) -> list[str]:
    """The stacks named with --only, in dependency order; the others are read (for outputs), not deployed."""
    wanted = list(dict.fromkeys(only))
    unknown = [name for name in wanted if name not in graph]
    if unknown:
        raise BadInput(
            f"--only: no stack named {', '.join(unknown)} in the manifest",
            hint=f"stacks in the manifest: {', '.join(graph)}",
        )
    order = topological_order(graph)
    return [name for name in order if not wanted or name in wanted]
