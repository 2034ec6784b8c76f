"""The page of ``nnpy serve`` in a real headless browser (Debian's chromium + chromedriver,
driven by Selenium): it loads without console errors, reads a digit drawn with pointer
events, reads an uploaded photo, and shows the error for a bad file; an image-folder model
(the tiny shapes model of conftest) reads photos as it was trained and names its classes.

Without chromium the tests skip, except in CI (``CI=true``), where ``.ci/run`` installs it
and its absence is a failure.
"""
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from nnpy.digits.server import make_server
from tests.browser import browser_or_skip, chromium

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "data" / "trained_models" / "mnist.json"
SCREENSHOT = os.environ.get("NNPY_SCREENSHOT")      # where to save the README's picture


@pytest.fixture(scope="module")
def page(shapes_model):
    browser_or_skip()
    server = make_server([str(MODEL), str(shapes_model)], "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with chromium("860,720") as driver:
            driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
            yield driver
    finally:
        server.shutdown()
        server.server_close()


def _wait_text(driver, element_id, predicate, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(d):       # no answer in flight (partial strokes are sent while the pen moves)
        return (d.find_element("id", "result").get_attribute("aria-busy") == "false"
                and predicate(d.find_element("id", element_id).text))

    WebDriverWait(driver, timeout).until(settled)
    return driver.find_element("id", element_id).text


def _choose_model(driver, name):
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "model")).select_by_value(name)


def _fresh(driver):
    """The page reloaded: nothing drawn or sent, mnist chosen."""
    driver.refresh()
    _wait_text(driver, "model", lambda t: "shapes (best)" in t)


def _console_errors(driver) -> list:
    """The console's errors since the last call; a 400 (an image that cannot be read, an
    answer the page shows) is none."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and not (e.get("source") == "network" and "status of 400" in e["message"])]


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
    options = _wait_text(page, "model", lambda t: "shapes (best)" in t)
    assert options.splitlines() == ["mnist · 10 classes", "shapes (best) · 3 classes"]
    assert not page.find_element("id", "photo").is_displayed()     # no broken image, no alt text
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


def test_the_photo_shows_only_while_it_is_what_is_read(page):
    _fresh(page)
    photo = page.find_element("id", "photo")
    assert not photo.is_displayed()
    _draw(page, [[(140, 50), (138, 130), (136, 230)]])
    assert _wait_text(page, "answer", lambda t: t == "1") == "1"
    assert not photo.is_displayed()                  # drawn on: no photo
    page.find_element("id", "file").send_keys(str(REPO / "data" / "samples" / "d5_002.png"))
    assert _wait_text(page, "answer", lambda t: t == "5") == "5"
    assert photo.is_displayed()
    page.find_element("id", "clear").click()
    _wait_text(page, "answer", lambda t: t == "")
    assert not photo.is_displayed()


def test_switching_model_reads_the_photo_again_and_drops_the_old_error(page, tmp_path):
    """A blank sheet has no digit for mnist; the shapes model reads any image. Switching
    model re-reads what is shown: the error was mnist's, not the new model's."""
    _fresh(page)
    Image.new("RGB", (60, 60), (240, 240, 240)).save(tmp_path / "blank.png")
    page.find_element("id", "file").send_keys(str(tmp_path / "blank.png"))
    assert "no ink found" in _wait_text(page, "error", lambda t: t != "")
    _choose_model(page, "shapes (best)")
    label = _wait_text(page, "answer", lambda t: t != "")
    assert label in ("circle", "square", "triangle") and page.find_element("id", "error").text == ""
    _choose_model(page, "mnist")
    assert "no ink found" in _wait_text(page, "error", lambda t: t != "")
    assert page.find_element("id", "answer").text == ""
    assert _console_errors(page) == []


def test_an_image_folder_model_reads_a_photo_with_its_size_and_classes(page, shapes_model, shape_photo):
    from nnpy.digits.reader import predict_files

    _fresh(page)
    _choose_model(page, "shapes (best)")
    assert not page.find_element("id", "multi").is_enabled()        # it reads no rows
    page.find_element("id", "file").send_keys(str(shape_photo))
    (expected,), _ = predict_files([shape_photo], shapes_model)
    assert _wait_text(page, "answer", lambda t: t != "") == expected["label"]
    assert page.find_element("id", "error").text == ""
    names = [e.text for e in page.find_elements("css selector", "#bars .bar .name")]
    assert names == ["circle", "square", "triangle"]
    seen = page.find_element("css selector", "#seen img")
    assert page.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", seen) == [16, 16]
    _choose_model(page, "mnist")
    assert page.find_element("id", "multi").is_enabled()
    assert _console_errors(page) == []


def test_a_row_read_as_one_digit_says_so(page):
    _fresh(page)
    page.find_element("id", "file").send_keys(str(REPO / "tests" / "data" / "rows" / "3856.jpg"))
    note = _wait_text(page, "note", lambda t: t != "")
    assert note == "this looks like 4 digits: try ticking “a row of digits”"
    page.find_element("id", "multi").click()          # read again, as a row
    assert _wait_text(page, "answer", lambda t: t == "3856") == "3856"
    assert page.find_element("id", "note").text == ""
    page.find_element("id", "multi").click()
