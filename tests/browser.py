"""A real headless browser for the page tests: Debian's Chromium driven by Selenium.

Chromium and chromedriver come from the system (.ci/run installs them with apt-get);
`chromium()` fails loudly when they are missing, so the page tests never skip silently."""

from __future__ import annotations

import contextlib
import shutil
import tempfile

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1600,1000"]


def _find(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or (shutil.which(name, path="/usr/lib/chromium")
                                       if name == "chromedriver" else None)
        if found:
            return found
    raise RuntimeError(f"{' or '.join(names)} is not installed: the page tests need a real "
                       "browser (apt-get install chromium chromium-driver; .ci/run does)")


@contextlib.contextmanager
def chromium():
    """A Selenium WebDriver on headless Chromium, with the browser console's log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "chromium-browser", "google-chrome")
    with tempfile.TemporaryDirectory(prefix="adgen-chromium-") as profile:
        for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(_find("chromedriver")), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def console_errors(driver) -> list[str]:
    """The browser console's errors and warnings since the last call."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] in ("SEVERE", "WARNING")]
