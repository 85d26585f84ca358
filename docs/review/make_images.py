"""Regenerate the review pages and pictures docs/review.md and the README show:

    python docs/review/make_images.py

Writes docs/review/{cs231n,mlp,rnn}.html (the pages themselves, open them in a browser),
cs231n-diagram.svg (`--svg`), and screenshots taken by headless Chromium (tests/browser.py).
"""

from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import adgen  # noqa: E402
from adgen.cli import main  # noqa: E402
from browser import chromium  # noqa: E402
from page_cases import load, mlp_arguments, rnn_arguments  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


def pages() -> None:
    import os

    os.chdir(ROOT)  # paths in the pages as the command line shows them
    assert main(["examples/cs231n.py", "-f", "f", "--at", "3,-4",
                 "--html", "docs/review/cs231n.html",
                 "--svg", "docs/review/cs231n-diagram.svg"]) == 0
    layers, rnn = load("layers"), load("rnn")
    adgen.review(layers.two_layer_loss, *mlp_arguments(), path=str(HERE / "mlp.html"))
    adgen.review(rnn.rnn_loss, *rnn_arguments(), path=str(HERE / "rnn.html"))


def _shoot(browser, element_id: str, name: str) -> None:
    element = browser.find_element(By.ID, element_id)
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", element)
    element.screenshot(str(HERE / name))


def shots() -> None:
    with chromium() as browser:
        browser.set_window_size(1500, 900)
        browser.get((HERE / "cs231n.html").as_uri())
        browser.find_element(By.ID, "src-22").click()  # pin line 22: invden = 1.0 / den
        browser.save_screenshot(str(HERE / "cs231n-page.png"))
        browser.find_element(By.ID, "src-22").click()
        _shoot(browser, "view-expanded", "cs231n-diagram.png")
        browser.set_window_size(2100, 900)  # the MLP is a long chain: a wider window
        browser.get((HERE / "mlp.html").as_uri())
        browser.find_element(By.ID, "zoom-fit").click()
        _shoot(browser, "view-expanded", "mlp-diagram.png")
        browser.set_window_size(1500, 900)
        browser.get((HERE / "rnn.html").as_uri())
        browser.find_element(By.ID, "zoom-fit").click()
        _shoot(browser, "view-expanded", "rnn-diagram.png")
        browser.find_element(By.CSS_SELECTOR, "[data-view=collapsed]").click()
        _shoot(browser, "view-collapsed", "rnn-collapsed.png")


if __name__ == "__main__":
    pages()
    shots()
