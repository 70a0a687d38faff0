"""The documentation site (mkdocs.yml, docs/): every public name has a docstring; the site
builds in strict mode (a broken link, a missing reference or a docstring that does not
render fails the build), needs nothing from the network, and its search works in a real
headless Chromium opened from the disk."""
import importlib
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from helpers_browser import chrome_driver

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks" / "site.py")
_hooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_hooks)  # runs without mkdocs: public_names needs only deepgrad


def _public():
    """(module, name, object) for every public name the API reference documents."""
    for _, module_name, _ in _hooks.API_MODULES:
        module = importlib.import_module(module_name)
        for name in _hooks.public_names(module_name):
            yield module_name, name, getattr(module, name)


def test_every_public_name_has_a_docstring():
    names = list(_public())
    assert len(names) > 300
    missing = sorted({f"{m}.{n}" for m, n, obj in names if not (obj.__doc__ or "").strip()})
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_public_names_are_the_modules_own():
    assert "Tensor" not in _hooks.public_names("deepgrad.nn.init")  # imported, not its own
    assert "Adam" in _hooks.public_names("deepgrad.optim")           # a package's export
    assert "ReduceLROnPlateau" in _hooks.public_names("deepgrad.optim.lr_scheduler")
    assert "Tensor" in _hooks.public_names("deepgrad")


@pytest.mark.parametrize("page", ["index.md", "getting-started.md", "guide/tensors.md",
                                  "guide/layers.md"])
def test_the_code_of_a_page_runs(page, capsys):
    """The self-contained pages' Python blocks run top to bottom, as a reader would."""
    namespace = {}
    for code in re.findall(r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S):
        exec(compile(code, page, "exec"), namespace)  # noqa: S102 - our own pages


def test_the_lab_page_shows_the_latest_report(tmp_path, monkeypatch):
    from deepgrad import lab
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "momentum.png").write_bytes(b"\x89PNG")
    (tmp_path / "results.json").write_text(json.dumps({
        "settings": {"mode": "quick", "seeds": [0, 1, 2], "date": "2026-12-02"},
        "experiments": [{"name": "momentum", "verdict": "supported", "seeds": [0, 1, 2],
                         "explanation": "Seed 0: 131 steps.",
                         "figure": "figures/momentum.png"}]}))
    monkeypatch.setenv("DEEPGRAD_LAB_REPORT", str(tmp_path))
    text, figures = _hooks._lab_page()
    assert text.count("**Rule.**") == len(lab.NAMES)
    assert "**Verdict.** SUPPORTED over 3 seed(s). Seed 0: 131 steps." in text
    assert "![" in text and "lab-figures/momentum.png" in text
    assert figures == [tmp_path / "figures" / "momentum.png"]
    monkeypatch.setenv("DEEPGRAD_LAB_REPORT", str(tmp_path / "none"))
    text, figures = _hooks._lab_page()
    assert "Verdict" not in text and figures == []
    assert "(lab-vanishing-gradients.png)" in text  # the committed figures stand in


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocs_jupyter")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                             "--site-dir", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-6000:]
    return out


@pytest.mark.slow
def test_the_site_builds_strict_with_every_page(site):
    guides = ("tensors", "layers", "optimizers", "data", "training", "cli", "views",
              "playground", "gpu", "from-pytorch")
    for page in ("index", "getting-started", "reading-guide", "distributed", "lab",
                 "benchmarks", "notebooks/01_mlp_classification", "notebooks/02_gd_vs_sgd",
                 "notebooks/03_tour", "api/index", "api/optim",
                 *(f"guide/{name}" for name in guides)):
        assert (site / f"{page}.html").is_file(), page
    # the notebooks were run: their figures are in the page
    assert "data:image/png;base64" in (site / "notebooks/01_mlp_classification.html").read_text()
    # every public name has its entry, and a docstring's formula shows
    for page, module_name, _ in _hooks.API_MODULES:
        text = (site / "api" / f"{page}.html").read_text()
        for name in _hooks.public_names(module_name):
            assert f'id="{module_name}.{name}"' in text or f'id="{name}"' in text, name
    assert "p = p - lr / (1 - beta1^t) * m / denom" in (site / "api/optim.html").read_text()
    lab = (site / "lab.html").read_text()
    assert lab.count("<strong>Rule.</strong>") >= 10


@pytest.mark.slow
def test_the_site_fetches_nothing_from_the_network(site):
    remote = re.compile(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)='
                        r'["\'](?:https?:)?//', re.I)
    css_remote = re.compile(r'(?:url\(\s*["\']?|@import\s+["\']?)(?:https?:)?//', re.I)
    for path in site.rglob("*"):
        if path.suffix == ".html":
            assert not remote.search(path.read_text()), path
        elif path.suffix in (".css", ".js") and path.stat().st_size:
            text = path.read_text(errors="replace")
            assert not css_remote.search(text), path


@pytest.mark.slow
def test_search_finds_adam_in_chromium_from_the_disk(site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver = chrome_driver()
    try:
        driver.get((site / "index.html").as_uri())
        box = WebDriverWait(driver, 30).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "input.md-search__input"))
        box.click()
        box.send_keys("Adam")

        def results(d):
            items = d.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
            return [i.text for i in items if "Adam" in i.text] or None
        found = WebDriverWait(driver, 60).until(results)
        assert any("Adam" in text for text in found)
    finally:
        driver.quit()
