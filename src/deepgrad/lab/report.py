"""The lab's report, as Markdown (figures as files beside it) and as one self-contained
HTML page (figures embedded as base64 PNG, so it can be mailed or opened offline).

Both take the runner's data: ``{"settings": {...}, "experiments": [entry, ...]}`` where
an entry has name, title, claim, criterion, source, verdict (over the seeds), checks
(rows of ``verdicts.over_seeds`` with their ``measured`` text), seeds, explanation (the
first seed's), figure and seeds_figure (paths relative to the report), probes (the
training probes' figures: a list of title and figure), seconds, numbers, and table
(rows of strings, the first the header; or None).
"""
import base64
import html
import os

_INTRO = ("Each section states a claim, the rule used to test it as checks of measured "
          "values against bounds, and the verdict computed over several seeds: a check is "
          "supported when the whole 95% interval of its mean passes the rule, not supported "
          "when the whole interval fails it, inconclusive otherwise; a claim is supported "
          "when all its checks are. All numbers are in results.json; re-run with "
          "`deepgrad lab NAME --seed S --seeds K`.")

_WORDS = {"supported": "supported", "not supported": "NOT supported",
          "inconclusive": "inconclusive"}
_CLASSES = {"supported": "pass", "not supported": "fail", "inconclusive": "open"}


def _verdict_word(verdict):
    return _WORDS[verdict]


def _settings_line(s):
    seeds = s["seeds"]
    return (f"mode {s['mode']}, seeds {seeds[0]}-{seeds[-1]} ({len(seeds)}) in {s['jobs']} "
            f"processes, {s['seconds']:.1f} s in all, {s['date']}; deepgrad "
            f"{s['deepgrad']}, NumPy {s['numpy']}, Python {s['python']}, {s['cpus']} CPUs")


def _counts(entries):
    return ", ".join(f"{sum(e['verdict'] == w for e in entries)} {w}" for w in _WORDS)


def _published(row):
    return "-" if row.get("published") is None else str(row["published"])


def _summary_rows(entries):
    """The summary table: claim, source, measured (its first check), published,
    verdict."""
    rows = [["claim", "source", "measured (95% interval)", "published", "verdict"]]
    for e in entries:
        first = e["checks"][0]
        rows.append([e["title"], e["source"], f"{first['name']}: {first['measured']}",
                     _published(first), _verdict_word(e["verdict"])])
    return rows


def _check_rows(e):
    rows = [["check", "rule", "per seed", "mean [95% interval]", "published", "verdict"]]
    for r in e["checks"]:
        per_seed = ", ".join("never" if v is None else f"{v:.4g}" for v in r["values"])
        rows.append([r["name"], r["rule"], per_seed, r["measured"],
                     _published(r), r["verdict"]])
    return rows


def write_markdown(data):
    """The report as Markdown text; images point to ``figures/<name>.png``."""
    s, entries = data["settings"], data["experiments"]
    summary = _summary_rows(entries)
    lines = ["# deepgrad lab: the course's claims, measured", "", _INTRO, "",
             f"{len(entries)} claims: {_counts(entries)} ({_settings_line(s)}).", "",
             "| " + " | ".join(summary[0]) + " | time (s) |", "|---|---|---|---|---|---:|"]
    for e, row in zip(entries, summary[1:]):
        cells = [f"[{e['title']}](#{e['name']})"] + [c.replace("|", "\\|") for c in row[1:]]
        lines.append("| " + " | ".join(cells) + f" | {e['total_seconds']:.1f} |")
    for e in entries:
        lines += ["", f"<a id=\"{e['name']}\"></a>", f"## {e['title']}", "",
                  f"> **Claim** ({e['source']}): {e['claim']}", "",
                  f"**Criterion.** {e['criterion']}", "",
                  f"**Verdict over {len(e['seeds'])} seeds: {_verdict_word(e['verdict'])}.** "
                  f"{e['explanation']}", "",
                  *_markdown_table(_check_rows(e)),
                  f"![{e['title']}]({e['figure']})", "",
                  f"![{e['title']}: the checks over the seeds]({e['seeds_figure']})", "",
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
.open { color: #9a6700; font-weight: bold; }
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
    summary = _summary_rows(entries)
    head = "".join(f"<th>{esc(c)}</th>" for c in summary[0]) + "<th>time (s)</th>"
    rows = "\n".join(
        f"<tr><td><a href=\"#{esc(e['name'])}\">{esc(e['title'])}</a></td>"
        + "".join(f"<td>{esc(c)}</td>" for c in row[1:4])
        + f"<td class=\"{_CLASSES[e['verdict']]}\">{_verdict_word(e['verdict'])}</td>"
        f"<td class=\"num\">{e['total_seconds']:.1f}</td></tr>"
        for e, row in zip(entries, summary[1:]))
    sections = []
    for e in entries:
        klass = _CLASSES[e["verdict"]]
        uri = _png_data_uri(os.path.join(out_dir, e["figure"]))
        spread = _png_data_uri(os.path.join(out_dir, e["seeds_figure"]))
        sections.append(f"""
<section id="{esc(e['name'])}">
<h2>{esc(e['title'])}</h2>
<blockquote><b>Claim</b> ({esc(e['source'])}): {esc(e['claim'])}</blockquote>
<p><b>Criterion.</b> {esc(e['criterion'])}</p>
<p><span class="{klass}">Verdict over {len(e['seeds'])} seeds: {_verdict_word(e['verdict'])}.</span>
{esc(e['explanation'])}</p>
{_html_table(_check_rows(e))}
<figure><img src="{uri}" alt="{esc(e['title'])}"></figure>
<figure><img src="{spread}" alt="{esc(e['title'])}: the checks over the seeds"></figure>
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
<p>{len(entries)} claims: {esc(_counts(entries))}.</p>
<p class="meta">{esc(_settings_line(s))}</p>
<table id="summary"><tr>{head}</tr>
{rows}
</table>
{''.join(sections)}
</body></html>
"""
