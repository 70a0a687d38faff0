"""The lab's report, as Markdown (figures as files beside it) and as one self-contained
HTML page (figures embedded as base64 PNG, so it can be mailed or opened offline).

Both take the runner's data: ``{"settings": {...}, "experiments": [entry, ...]}`` where
an entry has name, title, claim, criterion, passed, explanation, figure (a path relative
to the report), probes (the training probes' figures: a list of title and figure), seconds,
numbers, and table (rows of strings, the first the header; or None).
"""
import base64
import html
import os

_INTRO = ("Each section states a claim of the course \"Deep Learning for Graphics\", the "
          "rule used to test it, and the verdict computed from this run's measurements. "
          "All numbers are in results.json; re-run with `deepgrad lab NAME --seed S` to "
          "see them change.")


def _verdict_word(passed):
    return "supported" if passed else "NOT supported"


def _settings_line(s):
    return (f"mode {s['mode']}, seed {s['seed']}, {s['seconds']:.1f} s in all, "
            f"{s['date']}; deepgrad {s['deepgrad']}, NumPy {s['numpy']}, Python "
            f"{s['python']}, {s['cpus']} CPUs")


def write_markdown(data):
    """The report as Markdown text; images point to ``figures/<name>.png``."""
    s, entries = data["settings"], data["experiments"]
    passed = sum(e["passed"] for e in entries)
    lines = ["# deepgrad lab: the course's claims, measured", "", _INTRO, "",
             f"{passed} of {len(entries)} claims supported ({_settings_line(s)}).", "",
             "| experiment | verdict | time (s) |", "|---|---|---:|"]
    for e in entries:
        lines.append(f"| [{e['title']}](#{e['name']}) | {_verdict_word(e['passed'])} | "
                     f"{e['total_seconds']:.1f} |")
    for e in entries:
        lines += ["", f"<a id=\"{e['name']}\"></a>", f"## {e['title']}", "",
                  f"> **Claim** (slides): {e['claim']}", "",
                  f"**Criterion.** {e['criterion']}", "",
                  f"**Verdict: {_verdict_word(e['passed'])}.** {e['explanation']}", "",
                  f"![{e['title']}]({e['figure']})", "",
                  *_markdown_table(e.get("table")),
                  *_markdown_probes(e.get("probes")),
                  f"`deepgrad lab {e['name']}` ({e['total_seconds']:.1f} s)"]
    return "\n".join(lines) + "\n"


_PROBES_INTRO = ("What each layer did over the training steps, recorded by "
                 "deepgrad.train.Probes (deepgrad train --probes records the same).")


def _markdown_probes(probes):
    if not probes:
        return []
    return ["**Training probes.** " + _PROBES_INTRO, "",
            *[f"![{p['title']}]({p['figure']})" for p in probes], ""]


def _html_probes(probes, out_dir):
    if not probes:
        return ""
    esc = html.escape
    images = "\n".join(
        f"<figure><img src=\"{_png_data_uri(os.path.join(out_dir, p['figure']))}\" "
        f"alt=\"{esc(p['title'])}\"><figcaption>{esc(p['title'])}</figcaption></figure>"
        for p in probes)
    return (f"<details class=\"probes\" open><summary><b>Training probes</b> "
            f"({len(probes)} figures)</summary>\n<p>{esc(_PROBES_INTRO)}</p>\n{images}\n"
            f"</details>")


def _markdown_table(rows):
    if not rows:
        return []
    cells = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    return (["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
            + ["| " + " | ".join(row) + " |" for row in cells[1:]] + [""])


def _html_table(rows):
    if not rows:
        return ""
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in rows[0])
    body = "\n".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>"
                     for row in rows[1:])
    return f"<table class=\"data\"><tr>{head}</tr>\n{body}\n</table>"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
blockquote { margin: 0.5em 0; padding: 0.4em 1em; background: #f6f6f2;
             border-left: 4px solid #bbb; }
.pass { color: #17692b; font-weight: bold; } .fail { color: #b0191e; font-weight: bold; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em;
        border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; } table.data { font-size: 0.9em; margin: 0.5em 0; }
img { max-width: 100%; height: auto; }
.meta { color: #666; font-size: 0.9em; } code { background: #f2f2f2; padding: 0 0.2em; }
"""


def _png_data_uri(path):
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


def write_html(data, out_dir):
    """The report as one HTML page; figures are read from ``out_dir`` and embedded."""
    esc = html.escape
    s, entries = data["settings"], data["experiments"]
    passed = sum(e["passed"] for e in entries)
    rows = "\n".join(
        f"<tr><td><a href=\"#{esc(e['name'])}\">{esc(e['title'])}</a></td>"
        f"<td class=\"{'pass' if e['passed'] else 'fail'}\">{_verdict_word(e['passed'])}"
        f"</td><td class=\"num\">{e['total_seconds']:.1f}</td></tr>" for e in entries)
    sections = []
    for e in entries:
        klass = "pass" if e["passed"] else "fail"
        uri = _png_data_uri(os.path.join(out_dir, e["figure"]))
        sections.append(f"""
<section id="{esc(e['name'])}">
<h2>{esc(e['title'])}</h2>
<blockquote><b>Claim</b> (slides): {esc(e['claim'])}</blockquote>
<p><b>Criterion.</b> {esc(e['criterion'])}</p>
<p><span class="{klass}">Verdict: {_verdict_word(e['passed'])}.</span>
{esc(e['explanation'])}</p>
<figure><img src="{uri}" alt="{esc(e['title'])}"></figure>
{_html_table(e.get("table"))}
{_html_probes(e.get("probes"), out_dir)}
<p class="meta"><code>deepgrad lab {esc(e['name'])}</code> ({e['total_seconds']:.1f} s)</p>
</section>""")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>deepgrad lab: the course's claims, measured</title>
<style>{_CSS}</style></head>
<body>
<h1>deepgrad lab: the course's claims, measured</h1>
<p>{esc(_INTRO)}</p>
<p>{passed} of {len(entries)} claims supported.</p>
<p class="meta">{esc(_settings_line(s))}</p>
<table><tr><th>experiment</th><th>verdict</th><th>time (s)</th></tr>
{rows}
</table>
{''.join(sections)}
</body></html>
"""
