"""The course's two code examples make the points they are there to make."""
import pytest

from deepgrad.examples import gd_vs_sgd, mlp_classification


def test_sgd_beats_gd_at_the_same_budget_of_sample_gradients(tmp_path):
    result = gd_vs_sgd.run(out=tmp_path, epochs=20)
    runs = result["runs"]
    gd = runs["GD (B = N)"]
    for label, r in runs.items():
        assert len(r["loss"]) == 21  # initial loss + one per epoch
        if label != "GD (B = N)":
            assert r["loss"][-1] < gd["loss"][-1]
            assert r["updates"][-1] > gd["updates"][-1] == 20
    assert (tmp_path / "gd_vs_sgd.png").stat().st_size > 10_000


@pytest.mark.slow
def test_mlp_separates_the_spirals(tmp_path):
    result = mlp_classification.run(out=tmp_path, epochs=150)
    assert result["test_accuracy"] >= 0.95
    assert (tmp_path / "mlp_classification.png").stat().st_size > 10_000
