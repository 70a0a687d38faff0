"""docs/reading-guide.md stays true: every function it names exists, and is no longer
than the guide says (and than about 50 lines: the references are read at a glance)."""
import importlib
import inspect
import pathlib
import re

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "reading-guide.md"
ENTRY = re.compile(r"`(deepgrad(?:\.\w+)+)`\s*\((\d+) lines\)")


def _entries():
    text = " ".join(GUIDE.read_text().split())  # an entry may wrap over two lines
    return ENTRY.findall(text)


def _resolve(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def test_the_guide_names_the_course_concepts():
    names = {name for name, _ in _entries()}
    assert len(names) >= 25
    for concept in ("sgd", "sgd_sutskever", "rprop", "adagrad", "rmsprop", "adadelta",
                    "adam", "coupled_decay", "decoupled_decay_", "dropout", "Sigmoid",
                    "ReLU", "BatchNorm", "Linear", "LocallyConnected2d", "Conv2d",
                    "MaxPool2d", "run_backward"):
        assert any(f".{concept}" in name for name in names), concept


@pytest.mark.parametrize("name, lines", _entries(), ids=[n for n, _ in _entries()])
def test_each_named_function_exists_and_is_as_short_as_stated(name, lines):
    source = inspect.getsource(_resolve(name)).rstrip("\n").split("\n")
    assert len(source) <= int(lines) <= 50, f"{name}: {len(source)} lines"
