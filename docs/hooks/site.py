"""MkDocs hook: the pages generated from the code at build time.

- ``api/*.md``: one page per public module, one ``::: name`` (mkdocstrings) per public
  name, so the reference cannot drift from the docstrings;
- ``lab.md``: each lab experiment's claim and rule, from ``deepgrad.lab.get(name)``, with
  the latest quick report's figures where ``lab-report/`` holds one;
- ``benchmarks.md``: BENCHMARKS.md as it is in the repository;
- ``notebooks/*.ipynb``: the notebooks of ``notebooks/``, rendered (and run) by mkdocs-jupyter.

And two markers a page may hold, replaced at build time:
``<!-- docstring deepgrad.optim.Adam -->`` (that docstring, its formula blocks as code)
and ``<!-- help train -->`` (``deepgrad train --help``).

``public_names`` is also what ``tests/test_docs_site.py`` holds to a docstring each.
"""
import importlib
import inspect
import pathlib
import re

try:
    from mkdocs.plugins import event_priority
    from mkdocs.structure.files import File
except ImportError:  # the tests read public_names without the docs extra installed
    def event_priority(priority):
        return lambda f: f

ROOT = pathlib.Path(__file__).resolve().parents[2]

# (page, module, title): every module a user imports names from.
API_MODULES = [
    ("deepgrad", "deepgrad", "deepgrad: tensors, factories, ops"),
    ("autograd", "deepgrad.autograd", "deepgrad.autograd"),
    ("nn", "deepgrad.nn", "deepgrad.nn: layers and losses"),
    ("nn.functional", "deepgrad.nn.functional", "deepgrad.nn.functional"),
    ("nn.init", "deepgrad.nn.init", "deepgrad.nn.init"),
    ("nn.utils", "deepgrad.nn.utils", "deepgrad.nn.utils"),
    ("nn.models", "deepgrad.nn.models", "deepgrad.nn.models"),
    ("optim", "deepgrad.optim", "deepgrad.optim: optimizers"),
    ("optim.lr_scheduler", "deepgrad.optim.lr_scheduler", "deepgrad.optim.lr_scheduler"),
    ("data", "deepgrad.data", "deepgrad.data"),
    ("train", "deepgrad.train", "deepgrad.train"),
    ("checkpoint", "deepgrad.checkpoint", "deepgrad.checkpoint"),
    ("io", "deepgrad.io", "deepgrad.io: save and load"),
    ("diagnostics", "deepgrad.diagnostics", "deepgrad.diagnostics"),
    ("viz", "deepgrad.viz", "deepgrad.viz"),
    ("distributed", "deepgrad.distributed", "deepgrad.distributed"),
    ("cuda", "deepgrad.cuda", "deepgrad.cuda"),
    ("lab", "deepgrad.lab", "deepgrad.lab"),
]


def public_names(module_name):
    """The public functions and classes of a module: its ``__all__``; or else its names
    without a leading underscore that it defines itself, in a submodule of its own, or in
    a helper module named after it (``lr_scheduler_base`` for ``lr_scheduler``): names it
    merely imports (``Tensor`` in ``nn.init``) are documented where they are defined.
    Constants, dtypes and submodules are left out. In the module's order."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    own = None
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
        own = (module_name, module_name + ".", module_name + "_")
    found = []
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not callable(obj):
            continue
        defined_in = getattr(obj, "__module__", None) or ""
        if not defined_in.startswith("deepgrad"):
            continue
        if own and not (defined_in == own[0] or defined_in.startswith(own[1:])):
            continue
        found.append(name)
    return found


def _api_page(module_name, title):
    lines = [f"# {title}", "", f"::: {module_name}", "    options:", "      members: false",
             "      show_root_heading: false", ""]
    module = importlib.import_module(module_name)
    for name in public_names(module_name):
        obj = getattr(module, name)
        if "<locals>" in getattr(obj, "__qualname__", ""):
            lines += _by_hand(name, obj)  # made by a factory: griffe cannot find it
        else:
            lines += [f"::: {module_name}.{name}", ""]
    return "\n".join(lines)


def _by_hand(name, obj):
    try:
        signature = f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        signature = f"{name}(...)"
    return [f"## `{name}`", "", "```python", signature, "```", "",
            inspect.getdoc(obj) or "", ""]


def _api_index():
    lines = ["# API reference", "",
             "Generated from the docstrings at build time: every public name of each module "
             "below (its `__all__`, or its names without a leading underscore).", "",
             "| module | public names |", "|---|---|"]
    for page, module_name, _ in API_MODULES:
        lines.append(f"| [`{module_name}`]({page}.md) | {len(public_names(module_name))} |")
    return "\n".join(lines) + "\n"


def _lab_report():
    """The latest lab report's results by experiment, and its directory: ``lab-report/``
    (``deepgrad lab --quick`` writes it there) or ``$DEEPGRAD_LAB_REPORT``."""
    import json
    import os
    report = pathlib.Path(os.environ.get("DEEPGRAD_LAB_REPORT", ROOT / "lab-report"))
    try:
        results = json.loads((report / "results.json").read_text())
    except (OSError, ValueError):
        return report, {}, {}
    return report, results.get("settings", {}), {e["name"]: e for e in results["experiments"]}


def _lab_page():
    from deepgrad import lab
    report, settings, results = _lab_report()
    lines = ["# The lab: the course's claims, measured", "",
             "`deepgrad lab` re-runs each claim of the course as a seeded experiment on "
             "deepgrad itself and judges it by a rule: measured values against bounds, over "
             "several seeds (3 with `--quick`, 5 by default). A check is *supported* when the "
             "whole 95% interval of its mean passes, *not supported* when the whole interval "
             "fails, *inconclusive* otherwise.", "",
             "```sh", "deepgrad lab --list                      # the experiments",
             "deepgrad lab --quick --out lab-report     # all of them, a minute or two",
             "deepgrad lab momentum dropout --out lab-report", "```", "",
             "The report is `lab-report/report.html` (figures embedded) and `report.md`. "
             "Below, each experiment's claim (the slide's or the paper's words) and its rule, "
             "as the lab's registry states them."]
    if results:
        lines[-1] += (f" With them, the verdicts and figures of the latest report in "
                      f"`{report.name}/` ({settings.get('mode', '')} mode, "
                      f"{len(settings.get('seeds', []))} seeds, {settings.get('date', '')}).")
    else:
        lines[-1] += (" Run `deepgrad lab --quick --out lab-report` before building the site "
                      "to add each verdict and figure here.")
    lines.append("")
    figures = []
    for name in lab.NAMES:
        exp = lab.get(name)
        lines += [f"## {exp.TITLE}", "", f"`deepgrad lab {name}`", "",
                  f"**Claim.** {exp.CLAIM}", "", f"**Rule.** {exp.CRITERION}", ""]
        result = results.get(name)
        if result is not None:
            seeds = len(result.get("seeds", []))
            lines += [f"**Verdict.** {result['verdict'].upper()} over {seeds} seed(s). "
                      f"{result.get('explanation', '')}", ""]
            png = report / (result.get("figure") or "")
            if png.is_file() and png.suffix == ".png":
                figures.append(png)
                lines += [f"![{exp.TITLE}](lab-figures/{png.name})", ""]
                continue
        if (ROOT / "docs" / f"lab-{name}.png").exists():
            lines += [f"![{exp.TITLE}](lab-{name}.png)", ""]
    return "\n".join(lines), figures


@event_priority(100)  # before mkdocs-jupyter, which takes the notebooks added here
def on_files(files, config):
    for page, module_name, title in API_MODULES:
        files.append(File.generated(config, f"api/{page}.md",
                                    content=_api_page(module_name, title)))
    files.append(File.generated(config, "api/index.md", content=_api_index()))
    lab_text, lab_figures = _lab_page()
    files.append(File.generated(config, "lab.md", content=lab_text))
    for png in lab_figures:
        files.append(File.generated(config, f"lab-figures/{png.name}", abs_src_path=str(png)))
    files.append(File.generated(config, "benchmarks.md",
                                content=(ROOT / "BENCHMARKS.md").read_text()))
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        files.append(File(f"notebooks/{notebook.name}", src_dir=str(ROOT),
                          dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files


_DOCSTRING = re.compile(r"^<!-- docstring ([\w.]+) -->$", re.M)
_HELP = re.compile(r"^<!-- help ([\w-]*) -->$", re.M)


def _resolve(dotted):
    module_name, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def docstring_markdown(dotted):
    """A docstring as Markdown: its reST literal blocks (``::`` then an indented block)
    as code blocks, ``:class:`X``` roles as code."""
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from griffe_rst import rst_to_markdown
    return rst_to_markdown(inspect.getdoc(_resolve(dotted)))


def _help(command):
    import os
    from deepgrad.cli import build_parser
    os.environ["COLUMNS"] = "88"  # argparse wraps the help to the terminal's width
    parser = build_parser()
    if command:
        parser = next(a for a in parser._subparsers._group_actions
                      if hasattr(a, "choices")).choices[command]
    text = parser.format_help()
    return "```text\n" + text.rstrip() + "\n```"


def on_page_markdown(markdown, page, config, files):
    markdown = _DOCSTRING.sub(lambda m: docstring_markdown(m.group(1)), markdown)
    return _HELP.sub(lambda m: _help(m.group(1)), markdown)


def on_post_page(output, page, config):
    # nbconvert's template loads MathJax from a URL, empty here (no CDN): drop the tag
    return output.replace('<script src=""> </script>', "")
