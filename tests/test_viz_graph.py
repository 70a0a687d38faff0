"""viz.graph: the recorded graph as SVG, with gradient norms after backward; parsed as
XML and opened in headless Chromium."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from helpers_browser import needs_chromium, page_report

SVG = "{http://www.w3.org/2000/svg}"



def _lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
                         nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                         nn.Linear(84, 10))


def _deep_sigmoid_mlp(layers=10):
    return nn.Sequential(*[m for _ in range(layers) for m in (nn.Linear(8, 8), nn.Sigmoid())],
                         nn.Linear(8, 3))


def _recorded(net, x, y):
    dg.manual_seed(0)
    loss = nn.functional.cross_entropy(net(x), y)
    return loss, dg.viz.graph(loss, params=dict(net.named_parameters()))


def _labels(svg_text):
    root = ET.fromstring(svg_text)
    nodes = [g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "")]
    return root, [[t.text for t in g.iter(f"{SVG}text")] for g in nodes]


def test_lenet_graph_names_parameters_shapes_and_ops():
    dg.manual_seed(0)
    net = _lenet()
    loss, graph = _recorded(net, dg.randn(2, 1, 28, 28), dg.tensor([3, 7]))
    root, labels = _labels(graph.to_svg())
    names = {label[0] for label in labels}
    assert set(dict(net.named_parameters())) <= names  # every weight by its state-dict key
    assert {"Conv2d", "Sigmoid", "AvgPool2d", "Linear", "CrossEntropy"} <= names
    assert ["0.weight", "[6, 1, 5, 5]"] in labels and ["Conv2d", "[2, 6, 28, 28]"] in labels
    # 12 layers, the loss, 10 parameters
    assert len(labels) == 13 + 10 and len(root.findall(f"{SVG}line")) == len(graph.edges)
    assert not [t for t in root.iter(f"{SVG}text") if t.get("class") == "grad"]  # no backward yet


def test_after_backward_each_node_shows_its_gradient_norm():
    dg.manual_seed(0)
    net = _deep_sigmoid_mlp()
    loss, graph = _recorded(net, dg.randn(4, 8), dg.tensor([0, 1, 2, 0]))
    loss.backward()
    by_label = {n.label: n for n in graph.nodes.values() if n.kind == "leaf"}
    assert all(not p._hooks for p in net.parameters())  # nothing outlives the graph
    for name, p in net.named_parameters():
        assert by_label[name].grad_norm == pytest.approx(float(np.linalg.norm(p.grad.numpy())))
    root, _ = _labels(graph.to_svg())
    grads = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "grad"]
    assert len(grads) == len(graph.edges)
    # the vanishing gradient of a deep sigmoid net: the first layer's weight gradient is
    # far smaller than the last's, and its edges are drawn fainter
    first, last = by_label["0.weight"], by_label["20.weight"]
    assert first.grad_norm < last.grad_norm / 100
    opacity = {(x.get("x1"), x.get("y1")): float(x.get("stroke-opacity"))
               for x in root.findall(f"{SVG}line")}
    assert min(opacity.values()) < max(opacity.values())


def test_save_writes_the_file_and_notebooks_get_svg(tmp_path):
    loss, graph = _recorded(nn.Linear(3, 2), dg.randn(4, 3), dg.tensor([0, 1, 1, 0]))
    path = graph.save(str(tmp_path / "graph.svg"))
    assert open(path, encoding="utf-8").read() == graph._repr_svg_()
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary left


def test_an_output_without_a_graph_is_refused():
    with pytest.raises(ValueError, match="does not require grad"):
        dg.viz.graph(dg.ones(3).sum())
    with pytest.raises(TypeError, match="output must be a Tensor"):
        dg.viz.graph(np.ones(3))


_PAGE_CHECK = """<script>window.addEventListener('load', () => {
const boxes = [...document.querySelectorAll('g.node rect')].map(r => r.getBoundingClientRect());
let overlaps = 0;
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const a = boxes[i], b = boxes[j];
  if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps++;
}
const tooWide = [...document.querySelectorAll('g.node')].filter(g => {
  const r = g.querySelector('rect').getBBox();
  return [...g.querySelectorAll('text')].some(t => t.getBBox().width > r.width);
}).length;
const d = document.createElement('pre'); d.id = 'graph-check';
d.textContent = JSON.stringify({nodes: boxes.length, overlaps: overlaps, tooWide: tooWide});
document.body.appendChild(d); });</script>"""


@needs_chromium
@pytest.mark.parametrize("make, inputs", [
    (_lenet, lambda: (dg.randn(2, 1, 28, 28), dg.tensor([3, 7]))),
    (_deep_sigmoid_mlp, lambda: (dg.randn(4, 8), dg.tensor([0, 1, 2, 0]))),
], ids=["lenet", "10-layer-mlp"])
def test_chromium_renders_the_graph_readably(make, inputs, tmp_path):
    """Inline in a page, as a notebook shows it: every node drawn, no two boxes on top of
    each other, every label inside its box."""
    dg.manual_seed(0)
    loss, graph = _recorded(make(), *inputs())
    loss.backward()
    page = tmp_path / "graph.html"
    page.write_text(f"<html><body>{graph._repr_svg_()}{_PAGE_CHECK}</body></html>",
                    encoding="utf-8")
    seen = page_report(page, "graph-check")
    assert seen == {"nodes": len(graph.nodes), "overlaps": 0, "tooWide": 0}
