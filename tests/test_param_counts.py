"""Parameter counts from layer specifications alone: the course's example (a 200x200
image, 40,000 hidden units) gives 1.6e9, 4e6 and 100 weights without allocating them,
and every count equals the size of the built layer where building is cheap."""
import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.nn import Conv2d, LocallyConnected2d, count_parameters
from deepgrad.nn.models import MODELS, cnn, lenet, mlp

IMAGE = 200  # a 200x200 single-channel image; 200*200 = 40,000 hidden units


def test_course_example_exactly():
    fully_connected = ("Linear", dict(in_features=IMAGE * IMAGE, out_features=IMAGE * IMAGE,
                                      bias=False))
    # 40,000 units, one per pixel ('same' padding keeps 200x200), each seeing 10x10
    locally_connected = ("LocallyConnected2d", dict(
        in_channels=1, out_channels=1, input_size=IMAGE, kernel_size=10, padding="same",
        bias=False))
    convolution = ("Conv2d", dict(in_channels=1, out_channels=1, kernel_size=10, bias=False))
    assert count_parameters(fully_connected) == 1_600_000_000
    assert count_parameters(locally_connected) == 4_000_000 == 40_000 * 100
    assert count_parameters(convolution) == 100
    # the classmethods give the same numbers
    assert LocallyConnected2d.parameter_count(1, 1, IMAGE, 10, padding="same",
                                              bias=False) == 4_000_000
    assert Conv2d.parameter_count(1, 1, 10, bias=False) == 100
    # with biases: one per unit for the unshared layers, one per filter for the conv
    assert count_parameters(("Linear", dict(in_features=40_000, out_features=40_000))) \
        == 1_600_040_000
    assert LocallyConnected2d.parameter_count(1, 1, IMAGE, 10, padding="same") == 4_040_000
    assert Conv2d.parameter_count(1, 1, 10) == 101


def test_counting_allocates_nothing(monkeypatch):
    """No array is made: count_parameters never reaches a constructor."""
    def boom(*args, **kwargs):
        raise AssertionError("a layer was built")
    monkeypatch.setattr(LocallyConnected2d, "__init__", boom)
    monkeypatch.setattr(Conv2d, "__init__", boom)
    spec = [("LocallyConnected2d", dict(in_channels=1, out_channels=1, input_size=IMAGE,
                                        kernel_size=10, padding="same", bias=False)),
            ("Conv2d", dict(in_channels=1, out_channels=1, kernel_size=10, bias=False))]
    assert count_parameters(spec) == 4_000_100


@pytest.mark.parametrize("spec, build", [
    (("Conv2d", dict(in_channels=6, out_channels=4, kernel_size=(3, 2), groups=2)),
     lambda: Conv2d(6, 4, (3, 2), groups=2)),
    (("Conv2d", dict(in_channels=3, out_channels=5, kernel_size=1, bias=False)),
     lambda: Conv2d(3, 5, 1, bias=False)),
    (("LocallyConnected2d", dict(in_channels=2, out_channels=3, input_size=(9, 7),
                                 kernel_size=3, stride=2, padding=1)),
     lambda: LocallyConnected2d(2, 3, (9, 7), 3, stride=2, padding=1)),
    (("Linear", dict(in_features=7, out_features=3)), lambda: dg.nn.Linear(7, 3)),
])
def test_counts_equal_built_layers(spec, build):
    layer = build()
    assert count_parameters(spec) == layer.num_parameters() == count_parameters(layer)


def test_conv_count_equals_torch():
    assert Conv2d.parameter_count(8, 16, 3, groups=4) == sum(
        p.numel() for p in torch.nn.Conv2d(8, 16, 3, groups=4).parameters())


def test_bad_specs():
    with pytest.raises(ValueError, match="unknown layer 'Dense'"):
        count_parameters(("Dense", {}))
    with pytest.raises(TypeError, match="bad arguments for Conv2d"):
        count_parameters(("Conv2d", dict(in_channels=1)))
    with pytest.raises(TypeError, match="expected"):
        count_parameters("Conv2d")


# -- the model builders ----------------------------------------------------------------

def _torch_lenet():
    t = torch.nn
    return t.Sequential(t.Conv2d(1, 6, 5, padding=2), t.ReLU(), t.MaxPool2d(2),
                        t.Conv2d(6, 16, 5), t.ReLU(), t.MaxPool2d(2), t.Flatten(),
                        t.Linear(400, 120), t.ReLU(), t.Linear(120, 84), t.ReLU(),
                        t.Linear(84, 10))


def test_lenet_matches_the_torch_model():
    model, ref = lenet(), _torch_lenet()
    state = model.state_dict()
    assert list(state) == list(ref.state_dict())
    assert model.num_parameters() == sum(p.numel() for p in ref.parameters()) == 61_706
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(model(dg.tensor(x)).data,
                               ref(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_builders_shapes():
    assert lenet(in_channels=3, image_size=32)(dg.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert cnn()(dg.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert mlp(64, 10, hidden=32, depth=2)(dg.zeros(2, 64)).shape == (2, 10)
    assert set(MODELS) >= {"lenet", "cnn", "mlp"}
    with pytest.raises(ValueError, match="lenet: image_size must be at least 12"):
        lenet(image_size=8)
    with pytest.raises(ValueError, match="cnn: image_size must be divisible by 4"):
        cnn(image_size=10)
