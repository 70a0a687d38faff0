"""The lab: registry and CLI, seeded reproducibility, verdicts against contrary numbers,
report structure, figures, and the HTML report in headless Chromium.

The quick run of all the experiments is ``slow`` (budget: under 4 minutes on a 2-core
machine); the tests that judge real numbers share it. Everything else is fast.
"""
import base64
import copy
import html
import json
import os
import re

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import cli, lab, plotting
from deepgrad.lab import _common, report, verdicts
from helpers_browser import needs_chromium, page_report

NAMES = list(lab.NAMES)


def _strip_times(value):
    """The numbers without wall-clock times (keys ending in 'seconds')."""
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


# -- registry and command line ---------------------------------------------------------

def test_registry_lists_the_experiments_with_the_interface():
    assert len(NAMES) == 14  # the course's ten claims and four published results
    for name in NAMES:
        module = lab.get(name)
        assert module.NAME == name
        for attr in ("TITLE", "CLAIM", "CRITERION"):
            assert isinstance(getattr(module, attr), str) and len(getattr(module, attr)) > 20
        for fn in ("run", "checks", "verdict", "figure"):
            assert callable(getattr(module, fn))


def test_cli_list(capsys):
    assert cli.main(["lab", "--list"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert name in out


def test_unknown_experiment_is_named(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown experiment 'nope'.*momentum"):
        lab.run_experiments(["nope"], out=str(tmp_path))
    assert cli.main(["lab", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "report.html")  # nothing ran


def test_bad_seed_rejected(tmp_path):
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        lab.run_experiments(["momentum"], seed=-1, out=str(tmp_path))
    with pytest.raises(ValueError, match="seeds must be an integer >= 1, got 0"):
        lab.run_experiments(["momentum"], seeds=0, out=str(tmp_path))
    with pytest.raises(ValueError, match="jobs must be an integer >= 1, got 'x'"):
        lab.run_experiments(["momentum"], jobs="x", out=str(tmp_path))


def test_cli_runs_one_experiment(tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["lab", "momentum", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "momentum" in printed and "PASS" in printed and "[3/3]" in printed
    assert "SUPPORTED over 3 seed(s)" in printed
    data = json.loads((out / "results.json").read_text())
    assert [e["name"] for e in data["experiments"]] == ["momentum"]
    assert data["settings"]["mode"] == "quick" and data["settings"]["seeds"] == [0, 1, 2]
    (entry,) = data["experiments"]
    assert entry["verdict"] == "supported" and entry["seed_verdicts"] == [True] * 3
    assert all(len(row["values"]) == 3 for row in entry["checks"])
    assert (out / "figures" / "momentum.png").is_file()
    assert (out / "figures" / "momentum-seeds.png").is_file()
    assert (out / "report.md").is_file() and (out / "report.html").is_file()


# -- reproducibility -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["momentum", "learning-rate"])
def test_same_seed_same_numbers(name):
    module = lab.get(name)
    first = json.dumps(_strip_times(module.run(quick=True, seed=3)), sort_keys=True)
    second = json.dumps(_strip_times(module.run(quick=True, seed=3)), sort_keys=True)
    assert first == second


def test_same_seeds_same_report_whatever_the_number_of_processes(tmp_path):
    reports = []
    for jobs, out in ((1, tmp_path / "one"), (2, tmp_path / "two")):
        lab.run_experiments(["momentum", "learning-rate"], seed=5, seeds=2, jobs=jobs,
                            out=str(out), log=None)
        data = json.loads((out / "results.json").read_text())
        reports.append(_strip_times(data["experiments"]))
        assert data["settings"]["seeds"] == [5, 6]
    assert reports[0] == reports[1]
    first, second = reports[0][1]["numbers"], reports[0][1]["numbers_per_seed"][0]
    assert first["lambda_max"] != second["lambda_max"]  # two seeds, two runs


def test_other_seed_other_numbers():
    module = lab.get("learning-rate")  # its data are drawn from the seed
    a = _strip_times(module.run(quick=True, seed=0))
    b = _strip_times(module.run(quick=True, seed=1))
    assert a["lambda_max"] != b["lambda_max"]


# -- pieces ------------------------------------------------------------------------------

def test_closed_form_gradients_match_autograd():
    from deepgrad.lab import optimizers
    rng = np.random.default_rng(0)
    for fn, grad in ((optimizers.rosenbrock, optimizers.rosenbrock_grad),
                     (optimizers.beale, optimizers.beale_grad)):
        for _ in range(5):
            w = dg.tensor(rng.uniform(-1.5, 1.5, 2), requires_grad=True)
            fn(w).backward()
            np.testing.assert_allclose(grad(w.data), w.grad, rtol=1e-12, atol=1e-12)


def test_figure_rules_are_enforced(tmp_path):
    fig, (ax,) = _common.figure()
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("y")
    ax.set_title("t")
    with pytest.raises(ValueError, match="lacks an axis label"):
        _common.save(fig, tmp_path / "a.png", "no x label")
    fig, (ax,) = _common.figure()
    ax.plot([0, 1], label="one")
    ax.plot([1, 0], label="two")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("t")
    with pytest.raises(ValueError, match="no legend"):
        _common.save(fig, tmp_path / "b.png", "no legend")
    ax.legend()
    path = _common.save(fig, tmp_path / "c.png", "fine")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def _png(path, color):
    fig, ax = plotting.subplots(figsize=(1, 1))
    ax.imshow([[color]])
    plotting.save(fig, path)


def _fake_data(tmp_path, names=("alpha", "beta")):
    entries = []
    for i, name in enumerate(names):
        _png(tmp_path / "figures" / f"{name}.png", i)
        _png(tmp_path / "figures" / f"{name}-seeds.png", i)
        verdict = "supported" if i == 0 else "inconclusive"
        checks = [{"name": f"ratio of {name}", "rule": "< 1", "bound": 1.0, "values": [0.5, None],
                   "mean": None, "low": 0.5, "high": None, "verdict": verdict,
                   "published": "0.4 (a paper)" if i == 0 else None,
                   "measured": "never [0.5, never]"}]
        entries.append({"name": name, "title": f"Title <{name}> & co", "claim": f"claim {name}",
                        "criterion": f"rule {name}", "passed": i == 0, "verdict": verdict,
                        "source": "slides", "checks": checks, "seeds": [0, 1],
                        "seeds_figure": f"figures/{name}-seeds.png",
                        "explanation": f"numbers {name}", "figure": f"figures/{name}.png",
                        "seconds": 1.0, "total_seconds": 1.5, "numbers": {},
                        "table": [["a", "b"], ["1", "x|y"]] if i else None, "probes": []})
    _png(tmp_path / "figures" / "alpha-probes.png", 2)
    entries[0]["probes"] = [{"title": "run: probes <alpha>", "figure": "figures/alpha-probes.png"}]
    settings = {"mode": "quick", "seed": 0, "seeds": [0, 1], "jobs": 2, "seconds": 3.0,
                "date": "2026-01-01",
                "deepgrad": "0", "numpy": "0", "python": "3", "cpus": 2}
    return {"settings": settings, "experiments": entries}


def test_report_writers(tmp_path):
    data = _fake_data(tmp_path)
    page = report.write_html(data, str(tmp_path))
    assert page.count('<img src="data:image/png;base64,') == 5  # 2 x 2 figures, one probe
    assert page.count("<summary><b>Training probes</b> (1 figures)</summary>") == 1
    assert "<figcaption>run: probes &lt;alpha&gt;</figcaption>" in page
    assert "Title &lt;alpha&gt; &amp; co" in page  # escaped
    assert "2 claims: 1 supported, 0 not supported, 1 inconclusive." in page
    assert 'class="pass">Verdict over 2 seeds: supported.' in page
    assert 'class="open">Verdict over 2 seeds: inconclusive.' in page
    summary = page[page.index('<table id="summary">'):]
    summary = summary[:summary.index("</table>")]
    assert summary.count("<tr>") == 3 and "0.4 (a paper)" in summary
    assert "ratio of alpha: never [0.5, never]" in summary
    for uri in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        assert base64.b64decode(uri)[:8] == b"\x89PNG\r\n\x1a\n"
    text = report.write_markdown(data)
    assert "![Title <alpha> & co](figures/alpha.png)" in text
    assert "| 1 | x\\|y |" in text
    assert "**Verdict over 2 seeds: inconclusive.** numbers beta" in text
    assert "| ratio of beta | < 1 | 0.5, never | never [0.5, never] | - | inconclusive |" in text
    assert "![run: probes <alpha>](figures/alpha-probes.png)" in text
    assert text.count("**Training probes.**") == 1


# -- headless browser --------------------------------------------------------------------

_CHECK = """<script>window.addEventListener('load', () => {
const imgs = [...document.images];
const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);
const d = document.createElement('pre'); d.id = 'image-check';
d.textContent = JSON.stringify({n: imgs.length, bad: bad});
document.body.appendChild(d); });</script>"""


def browser_image_check(html_path, tmp_path):
    """Open the page in headless Chromium; return {"n": images, "bad": [alts broken]}."""
    page = open(html_path, encoding="utf-8").read().replace("</body>", _CHECK + "</body>")
    probe = tmp_path / "probe.html"
    probe.write_text(page, encoding="utf-8")
    return page_report(probe, "image-check")


@needs_chromium
def test_browser_sees_every_image_and_catches_a_broken_one(tmp_path):
    data = _fake_data(tmp_path)
    good = tmp_path / "report.html"
    good.write_text(report.write_html(data, str(tmp_path)), encoding="utf-8")
    assert browser_image_check(good, tmp_path) == {"n": 5, "bad": []}
    broken = tmp_path / "broken.html"
    page = good.read_text(encoding="utf-8")
    start = page.index("base64,") + len("base64,")
    broken.write_text(page[:start] + "AAAA" + page[start + 40:], encoding="utf-8")
    check = browser_image_check(broken, tmp_path)
    assert check["n"] == 5 and check["bad"] == ["Title <alpha> & co"]


# -- the full quick run (slow) ------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab") / "report"
    assert cli.main(["lab", "--quick", "--out", str(out)]) == 0
    data = json.loads((out / "results.json").read_text())
    return out, data


@pytest.mark.slow
def test_quick_mode_runs_every_experiment_and_records_its_time(quick_report):
    # The 5-minute budget is a measurement (about 35 s here, in the closing notes), not
    # an assertion: tests never assert a time.
    out, data = quick_report
    assert [e["name"] for e in data["experiments"]] == NAMES
    times = {e["name"]: round(e["total_seconds"], 1) for e in data["experiments"]}
    assert all(t > 0 for t in times.values())
    print("quick-mode seconds per experiment:", times, "total", data["settings"]["seconds"])


@pytest.mark.slow
def test_no_claim_contradicted_in_quick_mode(quick_report):
    # Over quick mode's 3 seeds a claim may be inconclusive (an interval that straddles
    # its bound); none may be contradicted, and every seed-0 run supports its claim.
    _, data = quick_report
    contradicted = {e["name"]: [r["name"] for r in e["checks"] if r["verdict"] ==
                                "not supported"]
                    for e in data["experiments"] if e["verdict"] == "not supported"}
    assert not contradicted
    failed = {e["name"]: e["explanation"] for e in data["experiments"]
              if not e["first_seed_passed"]}
    assert not failed
    print("quick-mode verdicts:", {e["name"]: e["verdict"] for e in data["experiments"]})


@pytest.mark.slow
def test_report_structure(quick_report):
    out, data = quick_report
    page = (out / "report.html").read_text(encoding="utf-8")
    text = (out / "report.md").read_text(encoding="utf-8")
    images = 2 * len(NAMES) + sum(len(e["probes"]) for e in data["experiments"])
    assert page.count('<img src="data:image/png;base64,') == images
    for e in data["experiments"]:
        module = lab.get(e["name"])
        assert f'<section id="{e["name"]}">' in page
        for field in (module.CLAIM, module.CRITERION):
            assert html.escape(field) in page and field in text
        assert f"![{module.TITLE}](figures/{e['name']}.png)" in text
        assert f"![{module.TITLE}: the checks over the seeds](figures/{e['name']}-seeds.png)" in text
        png = (out / "figures" / f"{e['name']}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert e["explanation"] in text
    assert page.count("Verdict over 3 seeds: ") == len(NAMES)
    for e in data["experiments"]:  # the spread figure of every experiment
        assert (out / e["seeds_figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert e["verdict"] == verdicts.over_seeds(
            [lab.get(e["name"]).checks(n) for n in [e["numbers"], *e["numbers_per_seed"]]])[0]
    # the optimizers' ranking table and the connectivity table are in both reports
    assert "mean rank" in page and "mean rank" in text
    assert "course example" in page


@pytest.mark.slow
@needs_chromium
def test_quick_report_opens_in_browser(quick_report, tmp_path):
    out, data = quick_report
    images = 2 * len(NAMES) + sum(len(e["probes"]) for e in data["experiments"])
    assert browser_image_check(out / "report.html", tmp_path) == {"n": images, "bad": []}


@pytest.mark.slow
def test_vanishing_gradients_report_shows_its_training_probes(quick_report):
    out, data = quick_report
    entry = next(e for e in data["experiments"] if e["name"] == "vanishing-gradients")
    assert [p["figure"] for p in entry["probes"]] == [
        f"figures/vanishing-gradients-{net}-probes_{kind}.png"
        for net in ("sigmoid", "relu") for kind in ("gradients", "saturation")]
    for p in entry["probes"]:
        assert (out / p["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p["title"].split(":")[0] in ("sigmoid", "relu")
    nets = entry["numbers"]["nets"]
    for net in nets.values():  # the probes and the experiment's own monitor agree
        probes, norms = net["probes"], net["grad_norms"]
        assert probes["steps"][0] == 0
        weights = [k for k in probes["parameters"] if k.endswith("weight")]
        assert len(weights) == len(norms["0"])
        for key, norm in zip(weights, norms["0"]):
            assert probes["parameters"][key]["grad_norm"][0] == pytest.approx(norm, rel=1e-6)
    # the sigmoid net's gradient dL/dy fades towards the input; the ReLU net's does not
    def fade(net):
        grads = nets[net]["probes"]["layers"]
        return grads["0"]["gradient"][0]["std"] / grads["18"]["gradient"][0]["std"]
    assert fade("sigmoid") < 1e-3 < 0.1 < fade("relu")


# Each entry: experiment -> {what: function(numbers) making that part of the claim false}.
def _set(path_value):
    def mutate(n):
        for path, value in path_value:
            target = n
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value(n) if callable(value) else value
    return mutate


def _all(selector, key, value):
    def mutate(n):
        for item in selector(n):
            item[key] = value(n, item) if callable(value) else value
    return mutate


CONTRARY = {
    "gd-vs-sgd": {
        "sgd not ahead": _all(lambda n: [r for k, r in n["runs"].items() if k != "GD"],
                              "loss", lambda n, r: r["loss"][:-1]
                              + [n["runs"]["GD"]["loss"][-1] * 1.01]),
        "slow to match": _all(lambda n: [r for k, r in n["runs"].items() if k != "GD"],
                              "epochs_to_gd_final", None),
    },
    "learning-rate": {
        "no divergence": lambda n: [r.update(diverged=False, final_loss=1e3)
                                    for r in n["runs"] if r["diverged"]],
        "small as good": lambda n: n["runs"][0].update(final_loss=min(
            r["final_loss"] for r in n["runs"] if not r["diverged"])),
        "diverged below the limit": _all(
            lambda n: [r for r in n["runs"] if 0.5 * n["critical_lr"] < r["lr"]
                       < 0.95 * n["critical_lr"]], "diverged", True),
    },
    "momentum-rates": {
        "rate off the theory": lambda n: n["runs"]["momentum 100"].update(rate=0.9),
        "gd off the theory": lambda n: n["runs"]["gd 1000"].update(rate=0.99),
    },
    "mnist1d": {
        "weak cnn": lambda n: n["models"]["cnn"].update(test_accuracy=0.8),
        "order does not matter": lambda n: n["models"]["cnn_shuffled"].update(
            test_accuracy=n["models"]["cnn"]["test_accuracy"]),
    },
    "dropout-size": {
        "no gain at the top": lambda n: n["test_error"][str(n["widths"][-1])].update(
            {"with": n["test_error"][str(n["widths"][-1])]["without"]}),
        "gain shrinks": lambda n: n["test_error"][str(n["widths"][0])].update(
            {"with": n["test_error"][str(n["widths"][0])]["without"] - 0.5}),
    },
    "batch-norm-figure1": {
        "no faster": lambda n: n["nets"]["bn"].update(accuracy=n["nets"]["plain"]["accuracy"]),
        "no steadier": lambda n: n["nets"]["bn"].update(
            mean_drift=n["nets"]["plain"]["mean_drift"]),
    },
    "momentum": {
        "not faster": _set([(("runs", "0.9", "steps_to_tol"),
                             lambda n: n["runs"]["0.0"]["steps_to_tol"])]),
        "zigzags": _set([(("runs", "0.5", "zigzag"), lambda n: n["runs"]["0.0"]["zigzag"])]),
    },
    "optimizers": {
        "one winner": _set([(("rosenbrock", "optimizers", "SGD", "final"), 0.0),
                            (("beale", "optimizers", "SGD", "final"), 0.0),
                            (("mlp", "optimizers", "SGD", "loss"), [2.3, 0.0])]),
        "no progress": _set([(("beale", "optimizers", "Adam", "final"),
                              lambda n: 2 * n["beale"]["start_value"])]),
    },
    "weight-decay": {
        "gap not narrowed": _all(lambda n: n["regression"]["runs"][1:], "gap",
                                 lambda n, r: n["regression"]["runs"][0]["gap"]),
        "decay never helps": _all(lambda n: n["classifier"]["runs"][1:], "test",
                                  lambda n, r: n["classifier"]["runs"][0]["test"] + 0.1),
        "no trade-off": _all(lambda n: n["classifier"]["runs"][-1:], "train_loss",
                             lambda n, r: n["classifier"]["runs"][0]["train_loss"]),
    },
    "dropout": {
        "worse test error": _set([(("nets", "0.5", "test_error"),
                                   lambda n: n["nets"]["0.0"]["test_error"] + 0.01)]),
        "worse test loss": _set([(("nets", "0.5", "test_loss"),
                                  lambda n: n["nets"]["0.0"]["test_loss"] * 2)]),
        "disagreement": lambda n: n["approximation"][-1].update(same_class=0.9),
        "averaging useless": lambda n: n["approximation"][-1].update(
            mean_abs_diff=n["approximation"][0]["mean_abs_diff"]),
    },
    "vanishing-gradients": {
        "slope above 0.25": lambda n: n["nets"]["sigmoid"]["slope_max"].__setitem__(3, 0.3),
        "no vanishing": lambda n: n["nets"]["sigmoid"]["grad_norms"]["0"].__setitem__(
            0, n["nets"]["sigmoid"]["grad_norms"]["0"][-1]),
        "relu vanishes": lambda n: n["nets"]["relu"]["grad_norms"]["0"].__setitem__(0, 1e-9),
        "relu trains worse": lambda n: n["nets"]["relu"]["loss"].__setitem__(
            -1, n["nets"]["sigmoid"]["loss"][-1] + 1),
    },
    "batch-norm": {
        "not sooner": _set([(("nets", "bn", "steps_to_90"),
                             lambda n: n["nets"]["plain"]["steps_to_90"])]),
        "no higher rate": _all(lambda n: n["nets"]["bn"]["sweep"][1:], "train_accuracy", 0.1),
        "more shift": _set([(("nets", "bn", "shift"),
                             lambda n: n["nets"]["plain"]["shift"] * 2)]),
    },
    "connectivity": {
        "course count": _set([(("course", "fully_connected"), 40000)]),
        "locally connected count": _set([(("course", "locally_connected"), 3_600_000)]),
        "conv far worse": _set([(("nets", "convolutional", "test_accuracy"),
                                 lambda n: n["nets"]["fully_connected"]["test_accuracy"] - .05)]),
    },
    "linearization": {
        "2 units suffice": _set([(("nets", "2", "best_accuracy"), 1.0)]),
        "3 units fail": _set([(("nets", "3", "best_accuracy"), 0.9)]),
    },
}


def test_every_experiment_has_contrary_cases():
    assert sorted(CONTRARY) == sorted(NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name,case", [(n, c) for n in CONTRARY for c in CONTRARY[n]])
def test_contrary_numbers_fail_the_criterion(quick_report, name, case):
    _, data = quick_report
    entry = next(e for e in data["experiments"] if e["name"] == name)
    module = lab.get(name)
    passed, _ = module.verdict(copy.deepcopy(entry["numbers"]))
    assert passed, "the real numbers must support the claim"
    contrary = copy.deepcopy(entry["numbers"])
    CONTRARY[name][case](contrary)
    passed, explanation = module.verdict(contrary)
    assert not passed, f"{name}: contrary numbers ({case}) still pass: {explanation}"
    assert explanation
