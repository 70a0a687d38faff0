"""The house has no import circle: the modules of deepgrad (packages' ``__init__``
included), each with the modules its top-level imports load, form a graph without
cycles. (Imports inside functions, made when called, are not edges.)"""
import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "deepgrad"


def _modules():
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        found[name] = (path, name if is_package else name.rsplit(".", 1)[0])
    return found


def _imports(path, package, modules):
    """The deepgrad modules that the top-level imports of ``path`` load."""
    loaded = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                loaded.add(sub if sub in modules else target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deepgrad"):
            loaded.add(node.module)
    return {m for m in loaded if m in modules}


def _graph():
    modules = _modules()
    graph = {}
    for name, (path, package) in modules.items():
        graph[name] = _imports(path, package, modules) - {name}
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_back_in_a_circle():
    graph = _graph()
    assert len(graph) > 100
    assert _cycles(graph) == []
