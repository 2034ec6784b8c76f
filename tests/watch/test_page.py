"""``nnpy train --watch``'s page in headless Chromium, beside a real (tiny) run in its own
process: the curve's points grow while it trains, the page has no console errors."""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import browser_or_skip, chromium, console_errors, wait_until

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = os.environ.get("NNPY_WATCH_SCREENSHOT")      # where to save the README's picture


@pytest.fixture()
def run(tmp_path):
    """``nnpy train --watch 0`` of a small MLP on 3000 MNIST digits, 20 epochs (stopped by the
    test long before); yields the page's address."""
    browser_or_skip()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnpy.cli", "train", "--config", str(REPO / "configs" / "mlp.yaml"),
         "--set", "data.limit=3000", "--set", "model.hidden=[64]", "--set", "data.val_split=500",
         "--set", "scheduler.warmup=20", "--set", f"log.dir={tmp_path / 'runs'}",
         "--set", f"checkpoint.dir={tmp_path / 'ckpt'}", "--watch", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://\S+/", line)
        assert url, line + proc.stderr.read()
        yield url.group(0)
    finally:
        proc.send_signal(signal.SIGTERM)          # stops after the current step
        proc.wait(timeout=30)
        proc.stderr.close()


def number(driver, element_id) -> int:
    text = driver.find_element("id", element_id).text
    return int(text) if text.isdigit() else -1


def test_the_page_shows_the_run_as_it_trains(run):
    with chromium("1400,820") as driver:
        driver.get(run)
        first = wait_until(driver, lambda d: number(d, "step") > 0 and number(d, "step"), timeout=30)
        assert driver.find_element("id", "status").text == "training"
        assert driver.find_element("id", "name").text == "mlp"
        later = wait_until(driver, lambda d: number(d, "points") >= 3 and number(d, "step") > first
                           and number(d, "step"), timeout=30)
        assert later > first
        assert [e.text for e in driver.find_elements("css selector", "#norms .name")] == ["dense_1", "dense_2"]
        phases = [e.text for e in driver.find_elements("css selector", "#phases .name")]
        assert {"forward", "backward", "optimizer"} <= set(phases)
        assert driver.find_element("id", "lr").text not in ("", "–")
        # read in one script: the page redraws these every half second
        layers = driver.execute_script("""return [...document.querySelectorAll('#histograms .layer')]
            .map((e) => [e.querySelector('.name').textContent, e.querySelectorAll('canvas').length]);""")
        assert layers == [["dense_1", 2], ["dense_2", 2]]          # one per weighted layer: W and b
        mistakes = wait_until(driver, lambda d: d.execute_script("""return [...document.querySelectorAll(
            '#mistakes .mistake')].map((e) => [e.querySelector('canvas').width, e.textContent]);"""), timeout=60)
        assert 0 < len(mistakes) <= 8
        for width, text in mistakes:               # a digit, then "#index: true → predicted"
            true, predicted = re.fullmatch(r"#\d+: (\d) → (\d)", text).groups()
            assert width == 28 and true != predicted
        if SCREENSHOT:
            wait_until(driver, lambda d: d.find_element("id", "epochs").text.count("epoch") >= 2, timeout=60)
            driver.save_screenshot(SCREENSHOT)
        assert console_errors(driver) == []
