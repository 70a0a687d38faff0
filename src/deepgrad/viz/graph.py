"""``graph(output, params)``: a picture of the recorded graph, drawn without Graphviz.

The walk goes from ``output`` down the Functions that made it, as backward will, and
keeps each op with the shape of its output, and each leaf that requires a gradient
(named by ``params``, e.g. ``dict(model.named_parameters())``, so weights carry their
state-dict keys). It also hooks every node: when ``backward()`` runs afterwards, the
norm of the gradient that reaches each node's output is recorded, and the picture shows
it on the edges out of that node. That is the course's network in backward mode: a
vanishing gradient is visible as the edges fade towards the input.

The layout is deepgrad's own: the output at the bottom, each op one row above the
deepest op that reads it, each leaf just above its first reader; within a row, nodes are
ordered by the mean position of their readers (one barycentre pass, which keeps chains
such as an MLP or a LeNet straight). ``save("graph.svg")`` writes SVG, and a notebook
shows it inline (``_repr_svg_``).
"""
import html
import math

from ..autograd import Tensor

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 190, 38, 24, 46, 20


class Node:
    def __init__(self, label, shape, kind, backward_seen, leaf=None):
        self.label, self.shape, self.kind = label, tuple(shape), kind
        self.backward_seen = backward_seen  # the graph's flag: a one-item list
        self.leaf = leaf  # the tensor, for a leaf: its .grad is read after backward
        self.readers = []  # the nodes that take this one's output as an input
        self.op_grad_norm = None  # set by the op's hook when backward reaches it
        self.row = self.x = 0.0

    @property
    def grad_norm(self):
        """The norm of the gradient of this node's output (None before backward)."""
        if self.kind == "op":
            return self.op_grad_norm
        grad = self.leaf._grad
        return _norm(grad) if self.backward_seen[0] and grad is not None else None


class Graph:
    """The nodes and edges of one recorded graph, and its drawing."""

    def __init__(self, output, params=None):
        if not isinstance(output, Tensor):
            raise TypeError(f"viz.graph: output must be a Tensor, got "
                            f"{type(output).__name__}")
        names = {id(t): name for name, t in (params or {}).items()}
        self.nodes, self.edges, self.backward_seen = {}, [], [False]
        self._walk(output, names)
        self._layout()

    # -- the walk ----------------------------------------------------------------------
    def _walk(self, output, names):
        root = self._node_for(output, None, names)
        if root is None:
            raise ValueError("viz.graph: the output does not require grad, so no graph "
                             "was recorded (is it computed under no_grad, or from "
                             "tensors without requires_grad=True?)")
        todo = [output.creator] if output.creator is not None else []
        seen = set()
        while todo:
            fn = todo.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            for x, creator, needed in zip(fn.inputs or (), fn.input_creators,
                                          fn.needs_input_grad):
                if not needed:
                    continue
                source = self._node_for(x, creator, names)
                source.readers.append(self.nodes[id(fn)])
                self.edges.append((source, self.nodes[id(fn)]))
                if creator is not None:
                    todo.append(creator)

    def _node_for(self, tensor, creator, names):
        """The node of the Function that made ``tensor`` (or of the leaf itself)."""
        creator = creator if creator is not None else tensor.creator
        owner = creator if creator is not None else tensor
        if id(owner) in self.nodes:
            return self.nodes[id(owner)]
        if creator is None and not tensor.requires_grad:
            return None
        if creator is not None:
            node = Node(_concept(creator.name), tensor.shape, "op", self.backward_seen)
            # the graph is freed after backward, and these hooks with it
            creator._hooks = (creator._hooks or []) + [self._recorder(node)]
        else:  # no hook on a leaf: it would outlive this graph (a parameter lives on)
            node = Node(names.get(id(tensor), "input"), tensor.shape, "leaf",
                        self.backward_seen, leaf=tensor)
        self.nodes[id(owner)] = node
        return node

    def _recorder(self, node):
        def record(grad):  # the summed gradient of the op's output, once per backward
            node.op_grad_norm = _norm(getattr(grad, "_data", grad))
            self.backward_seen[0] = True
        return record

    # -- the layout --------------------------------------------------------------------
    def _layout(self):
        nodes = list(self.nodes.values())
        for node in _readers_first(nodes):  # a node sits a row above its deepest reader
            ops = [r.row for r in node.readers]
            node.row = (max(ops) + 1) if ops else 0
        for node in nodes:  # a leaf just above its first reader
            if node.kind == "leaf" and node.readers:
                node.row = min(r.row for r in node.readers) + 1
        rows = {}
        for node in nodes:
            rows.setdefault(node.row, []).append(node)
        for row in sorted(rows):  # from the output up: order by the readers' mean x
            members = sorted(rows[row], key=_readers_mean_x)
            if len(members) == 1:  # a chain stays straight under its reader
                members[0].x = _readers_mean_x(members[0])
                continue
            width = len(members) * (NODE_W + GAP_X) - GAP_X
            for i, node in enumerate(members):
                node.x = -width / 2 + i * (NODE_W + GAP_X) + NODE_W / 2
        self.rows = max(rows) + 1

    # -- drawing -----------------------------------------------------------------------
    def to_svg(self):
        nodes = list(self.nodes.values())
        left = min(n.x for n in nodes) - NODE_W / 2 - MARGIN
        width = max(n.x for n in nodes) + NODE_W / 2 + MARGIN - left
        height = self.rows * (NODE_H + GAP_Y) - GAP_Y + 2 * MARGIN

        def pos(node):  # the top-left corner; row 0 (the output) at the bottom
            return (node.x - NODE_W / 2 - left,
                    MARGIN + (self.rows - 1 - node.row) * (NODE_H + GAP_Y))

        norms = [n.grad_norm for n in nodes if n.grad_norm]
        top = max(norms) if norms else None
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
                 f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
                 f'font-family="sans-serif" font-size="11">']
        for source, reader in self.edges:
            (sx, sy), (rx, ry) = pos(source), pos(reader)
            x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, rx + NODE_W / 2, ry
            strength = _strength(source.grad_norm, top)
            parts.append(f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" '
                         f'y2="{y2:.1f}" stroke="#c0392b" stroke-opacity='
                         f'"{0.15 + 0.85 * strength:.2f}" stroke-width='
                         f'"{1 + 3 * strength:.2f}"/>')
            if source.grad_norm is not None:
                parts.append(f'<text class="grad" x="{(x1 + x2) / 2 + 4:.1f}" '
                             f'y="{(y1 + y2) / 2 + 4:.1f}" fill="#c0392b">'
                             f'|g| {source.grad_norm:.3g}</text>')
        for node in nodes:
            x, y = pos(node)
            fill = "#eaf2fb" if node.kind == "op" else "#fdf2e3"
            parts.append(f'<g class="node {node.kind}"><rect x="{x:.1f}" y="{y:.1f}" '
                         f'width="{NODE_W}" height="{NODE_H}" rx="5" fill="{fill}" '
                         f'stroke="#555"/><text x="{x + NODE_W / 2:.1f}" y="{y + 15:.1f}" '
                         f'text-anchor="middle" font-weight="bold">'
                         f'{html.escape(node.label)}</text><text x="{x + NODE_W / 2:.1f}" '
                         f'y="{y + 30:.1f}" text-anchor="middle">'
                         f'{html.escape(str(list(node.shape)))}</text></g>')
        parts.append("</svg>")
        return "\n".join(parts)

    def _repr_svg_(self):
        return self.to_svg()

    def save(self, path):
        """Write the picture as SVG, atomically (a partial file never replaces a good
        one); returns the path."""
        from ..serialization import atomic_write
        atomic_write(path, self.to_svg().encode("utf-8"))
        return path


def _norm(array):
    return float((array.astype("float64") ** 2).sum()) ** 0.5


def _readers_mean_x(node):
    return sum(r.x for r in node.readers) / len(node.readers) if node.readers else 0.0


KERNEL_PREFIXES = ("Compiled", "Fast", "OneDNN")


def _concept(name):
    """The op's concept, not its kernel: CompiledReLU and FastConv2d show as ReLU and
    Conv2d."""
    for prefix in KERNEL_PREFIXES:
        name = name.removeprefix(prefix)
    return name


def _readers_first(nodes):
    """The nodes ordered so that each comes after every node that reads it."""
    order, state = [], {}
    for start in nodes:
        stack = [(start, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if state.get(id(node)):
                continue
            state[id(node)] = True
            stack.append((node, True))
            stack.extend((r, False) for r in node.readers if not state.get(id(r)))
    return order


def _strength(norm, top):
    """0..1 on a log scale over six decades below the largest gradient norm."""
    if norm is None or not top:
        return 0.5
    if norm <= 0:
        return 0.0
    return max(0.0, 1 + math.log10(norm / top) / 6)


def graph(output, params=None):
    """The recorded graph that made ``output``; ``params`` names leaves (a dict such as
    ``dict(model.named_parameters())``). Call ``backward()`` after this to see the
    gradients; ``.save("graph.svg")`` writes the picture."""
    return Graph(output, params)
