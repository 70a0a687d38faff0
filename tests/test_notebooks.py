"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel (nbclient +
ipykernel), and show what they are there to show: tables, a progress bar redrawn in
place, figures and the graph inline."""
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name, tmp_path):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _kinds(cell):
    return [kind for output in cell.outputs for kind in output.get("data", {})]


def _text(cell):
    return "".join(output.get("text", "") for output in cell.outputs)


def test_every_notebook_is_saved_without_outputs():
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["01_mlp_classification.ipynb", "02_gd_vs_sgd.ipynb", "03_tour.ipynb"]
    for name in names:
        cells = nbformat.read(NOTEBOOKS / name, as_version=4).cells
        assert all(not c.get("outputs") for c in cells if c.cell_type == "code"), name


@pytest.mark.slow
def test_mlp_classification_notebook(tmp_path):
    data, summary, fit, curves, regions, check = _execute("01_mlp_classification.ipynb",
                                                          tmp_path)
    assert "text/html" in _kinds(summary) and "Linear" in summary.outputs[0]["data"]["text/html"]
    bar = [o for o in fit.outputs if o.get("output_type") == "display_data"]
    assert len(bar) == 1  # one output, redrawn in place for the whole run
    assert "epoch 80/80" in bar[0]["data"]["text/html"]
    assert "image/png" in _kinds(curves) and "image/png" in _kinds(regions)
    assert "test accuracy" in _text(check)
    assert (tmp_path / "mlp_classification.png").exists()


@pytest.mark.slow
def test_gd_vs_sgd_notebook(tmp_path):
    runs, figure, check = _execute("02_gd_vs_sgd.ipynb", tmp_path)
    assert "SGD (B = 8)" in _text(runs)
    assert "image/png" in _kinds(figure)
    assert "SGD ahead of GD" in _text(check)


@pytest.mark.slow
def test_tour_notebook(tmp_path):
    autograd, by_hand, fit, graph, probes, lab = _execute("03_tour.ipynb", tmp_path)
    assert "tensor([2., 4., 6.])" in _text(autograd)
    assert len(_text(by_hand).splitlines()) == 3
    assert "image/png" in _kinds(fit)  # the live curves
    assert "image/svg+xml" in _kinds(graph)
    ratio = float(_text(probes).split("top layer:")[1])
    assert ratio < 0.1  # the vanishing gradient, seen by the probes
    assert "image/png" in _kinds(probes)
    assert "image/png" in _kinds(lab)
