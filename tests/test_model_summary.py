"""nn.summary: per-layer output shapes, parameters and multiply-adds, and the totals."""
from html.parser import HTMLParser

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn


def _lenet():
    """d2l's LeNet-5."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
                         nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                         nn.Linear(84, 10))


def test_lenet_rows_shapes_parameters_and_multiply_adds():
    net = _lenet()
    s = nn.summary(net, (4, 1, 28, 28))
    assert [r.name for r in s.rows] == [str(i) for i in range(12)]
    assert [r.output_shape for r in s.rows][:4] == [(4, 6, 28, 28), (4, 6, 28, 28),
                                                    (4, 6, 14, 14), (4, 16, 10, 10)]
    assert s.rows[-1].output_shape == (4, 10)
    assert [r.trainable for r in s.rows if r.trainable] == [
        6 * 25 + 6, 16 * 6 * 25 + 16, 400 * 120 + 120, 120 * 84 + 84, 84 * 10 + 10]
    assert s.trainable == net.num_parameters() == 61_706 and s.frozen == 0
    # per sample: each output element of a convolution is C_in*kh*kw products
    per_sample = (6 * 28 * 28 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10)
    assert s.multiply_adds == 4 * per_sample
    assert s.parameter_bytes == 4 * 61_706
    assert s.activation_bytes == 4 * sum(int(np.prod(r.output_shape)) for r in s.rows)


def test_frozen_parameters_grouped_convolution_and_own_parameters_of_a_container():
    class Scaled(nn.Module):  # owns a parameter and has a child: listed as well
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 8, 3, groups=2, bias=False)
            self.gain = nn.Parameter(dg.ones(1))

        def forward(self, x):
            return self.conv(x) * self.gain

    net = Scaled()
    net.gain.requires_grad_(False)
    s = net.summary((2, 4, 6, 6))
    rows = {r.name: r for r in s.rows}
    assert set(rows) == {"Scaled", "conv"}
    assert rows["conv"].multiply_adds == 2 * 8 * 4 * 4 * (4 // 2) * 9
    assert rows["Scaled"].frozen == 1 and s.frozen == 1 and s.trainable == 8 * 2 * 9


def test_the_model_is_left_as_it_was():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    nn.summary(net, (5, 3))
    assert net.training and all(not m._forward_hooks for m in net.modules())
    for k, v in net.state_dict().items():  # evaluation mode: running stats untouched
        np.testing.assert_array_equal(v.numpy(), before[k])


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.tags = 0, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.rows += tag == "tr"


def test_text_and_html_tables():
    s = nn.summary(_lenet(), (1, 1, 28, 28))
    text = str(s)
    assert "Conv2d" in text and "[1, 6, 28, 28]" in text and "61,706" in text
    assert "mult-adds per batch: 416,520" in text
    parser = _Cells()
    parser.feed(s._repr_html_())
    assert parser.rows == 1 + 12 + 5  # the head, one per layer, the totals
    assert parser.tags[0] == "table"


@pytest.mark.parametrize("bad", [(0, 3), 3, (2, 3.0), (True, 3)])
def test_bad_input_size_is_refused(bad):
    with pytest.raises(ValueError, match="summary: input_size"):
        nn.summary(nn.Linear(3, 2), bad)


def test_notebook_views_of_a_module_and_a_tensor():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    page = net._repr_html_()
    assert page.count("<details") == 5 and "13 parameters" in page and "4 parameters" in page
    assert "1: Sequential" in page and "in_features=2" in page
    assert "lazy, not built yet" in nn.LazyLinear(3)._repr_html_()
    x = dg.ones(2, 3, requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert "shape [2, 3]" in x._repr_html_() and "has .grad" in x._repr_html_()
    assert "grad_fn Mul" in y._repr_html_() and "&lt;Mul backward&gt;" in y._repr_html_()
