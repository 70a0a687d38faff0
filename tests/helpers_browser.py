"""Pages opened in a real headless browser: the page's own script writes what it found
as JSON into ``<pre id=...>``, and Chromium's ``--dump-dom`` hands the DOM back."""
import html
import json
import re
import shutil
import subprocess

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(apt-get install -y chromium)")


def page_report(page_path, report_id):
    """Open ``page_path`` in headless Chromium; return the JSON its script wrote into
    ``<pre id=report_id>``."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=10000", "--dump-dom", page_path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(rf'<pre id="{report_id}">(.*?)</pre>', result.stdout)
    assert found, f"Chromium did not run the page's script: {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))
