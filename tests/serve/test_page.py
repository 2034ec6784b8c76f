"""The page of ``nnpy serve`` in a real headless browser (Debian's chromium + chromedriver,
driven by Selenium): it loads without console errors, reads a digit drawn with pointer
events, reads an uploaded photo, and shows the error for a bad file.

Without chromium the tests skip, except in CI (``CI=true``), where ``.ci/run`` installs it
and its absence is a failure.
"""
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from nnpy.serve import make_server

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "data" / "trained_models" / "mnist.json"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
SCREENSHOT = os.environ.get("NNPY_SCREENSHOT")      # where to save the README's picture


def _browser_or_skip():
    missing = [n for n, p in (("chromium", CHROMIUM), ("chromedriver", DRIVER)) if not p]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        message = "the browser test needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (.ci/run installs them)")
        pytest.skip(message)


@pytest.fixture(scope="module")
def page():
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    server = make_server([str(MODEL)], "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="nnpy-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=860,720", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
        yield driver
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
        shutil.rmtree(profile, ignore_errors=True)


def _wait_text(driver, element_id, predicate, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(d):       # no answer in flight (partial strokes are sent while the pen moves)
        return (d.find_element("id", "result").get_attribute("aria-busy") == "false"
                and predicate(d.find_element("id", element_id).text))

    WebDriverWait(driver, timeout).until(settled)
    return driver.find_element("id", element_id).text


def _console_errors(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _draw(driver, strokes):
    """Draw ``strokes`` (lists of (x, y) in canvas pixels, 0-280) with pointer events."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.actions import interaction

    pad = driver.find_element("id", "pad")
    actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_PEN, "pen"))
    for stroke in strokes:
        x, y = stroke[0]
        actions.pointer_action.move_to(pad, x - 140, y - 140).pointer_down()
        for x, y in stroke[1:]:
            actions.pointer_action.move_to(pad, x - 140, y - 140)
        actions.pointer_action.pointer_up()
    actions.perform()


def test_page_loads_without_console_errors(page):
    options = _wait_text(page, "model", lambda t: "mnist" in t)
    assert "10 classes" in options
    assert _console_errors(page) == []


def test_a_drawn_digit_is_read(page):
    page.find_element("id", "clear").click()
    seven = [[(70, 60), (120, 58), (170, 57), (210, 58), (190, 110), (165, 165), (145, 225)]]
    _draw(page, seven)
    assert _wait_text(page, "answer", lambda t: t == "7") == "7"
    seen = page.find_element("css selector", "#seen img")
    assert seen.get_attribute("src").startswith("data:image/png;base64,")
    assert len(page.find_elements("css selector", "#bars .bar")) == 10
    page.find_element("id", "undo").click()                      # undo: nothing left
    _wait_text(page, "answer", lambda t: t == "")
    one = [[(140, 50), (138, 130), (136, 230)]]
    _draw(page, one)
    assert _wait_text(page, "answer", lambda t: t == "1") == "1"
    assert _console_errors(page) == []


def test_an_answer_arriving_after_undo_is_dropped(page):
    """A request sent just before Undo (a drawing is sent while the pen moves) answers after
    the pad is empty; that answer is stale and must not bring the digit back."""
    page.find_element("id", "clear").click()
    _draw(page, [[(140, 50), (138, 130), (136, 230)]])
    assert _wait_text(page, "answer", lambda t: t == "1") == "1"
    answer_once_the_request_is_done = page.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const original = window.predict;
        window.predict = async (...args) => {
          await original(...args);
          window.predict = original;
          done(document.getElementById("answer").textContent);
        };
        sendDrawing();                                // in flight ...
        document.getElementById("undo").click();      // ... when the last stroke is undone
    """)
    assert answer_once_the_request_is_done == ""
    assert page.find_element("css selector", "#bars").text == ""


def test_an_uploaded_photo_is_read(page):
    photo = REPO / "tests" / "data" / "handwritten" / "d4_shadow_004.jpg"
    page.find_element("id", "file").send_keys(str(photo))
    assert _wait_text(page, "answer", lambda t: t == "4") == "4"
    assert page.find_element("id", "photo").is_displayed()
    if SCREENSHOT:
        page.save_screenshot(SCREENSHOT)
    assert _console_errors(page) == []


def test_a_bad_file_shows_the_error(page, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("shopping list: milk, eggs")
    page.find_element("id", "file").send_keys(str(bad))
    error = _wait_text(page, "error", lambda t: t != "")
    assert error == "notes.png: not an image (Pillow cannot identify it)"
    assert page.find_element("id", "answer").text == ""
