"""Pages opened in a real headless browser: the page's own script writes what it found
as JSON into ``<pre id=...>``, and Chromium's ``--dump-dom`` hands the DOM back."""
import html
import json
import os
import re
import shutil
import subprocess

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)

REQUIRED = os.environ.get("DEEPGRAD_REQUIRE_BROWSER") == "1"
"""Set by .ci/run, which installs Chromium: there a missing browser fails the browser
tests instead of skipping them, so CI cannot pass without running them."""


def _missing(reason):
    (pytest.fail if REQUIRED else pytest.skip)(reason)


needs_chromium = pytest.mark.skipif(CHROMIUM is None and not REQUIRED,
                                    reason="chromium is not installed (apt-get install -y "
                                    "chromium)")


def page_report(page_path, report_id):
    """Open ``page_path`` in headless Chromium; return the JSON its script wrote into
    ``<pre id=report_id>``."""
    if CHROMIUM is None:
        _missing("chromium is not installed (apt-get install -y chromium)")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=10000", "--dump-dom", page_path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(rf'<pre id="{report_id}">(.*?)</pre>', result.stdout)
    assert found, f"Chromium did not run the page's script: {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


CHROMEDRIVER = shutil.which("chromedriver")


def chrome_driver(width=1400, height=1000):
    """A headless Chromium driven through Selenium and the system's chromedriver, for
    pages that are used (clicked, typed into, reloaded), not only opened. Every host but
    127.0.0.1 fails to resolve, so a page that fetched anything from elsewhere breaks.
    Skips where Selenium, Chromium or chromedriver is absent (Debian: chromium-driver)."""
    try:
        from selenium import webdriver
    except ImportError:
        _missing("selenium is not installed (the test extra)")
    if CHROMIUM is None or CHROMEDRIVER is None:
        _missing("chromium and chromedriver are needed (apt-get install -y chromium "
                 "chromium-driver)")
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
