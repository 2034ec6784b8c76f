"""``nnpy learn``'s page in headless Chromium: it loads without console errors; Forward,
Backward and Step show the numbers the session computed (the JSON API's, which
tests/learn/test_session.py checks against the layers); Train makes the loss fall."""
import os
import threading

import numpy as np
import pytest

from nnpy.learn import make_learn_server
from tests.browser import chromium, console_errors, wait_until

SCREENSHOT = os.environ.get("NNPY_LEARN_SCREENSHOT")      # where to save the README's picture


@pytest.fixture(scope="module")
def served():
    server = make_learn_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with chromium("1500,900") as driver:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
        idle(driver)
        yield driver, server
    server.shutdown()
    server.server_close()


def idle(driver):
    """Wait until no request or card reveal is in flight."""
    wait_until(driver, lambda d: d.find_element("id", "panel").get_attribute("aria-busy") == "false")


def fmt(v: float) -> str:
    """The page's number format: JavaScript's ``v.toPrecision(4)``, or ``v.toExponential(2)``
    below 1e-3."""
    if 0 < abs(v) < 1e-3:
        mantissa, exponent = f"{v:.2e}".split("e")
        return f"{mantissa}e{int(exponent):+d}"
    mantissa, exponent = f"{v:.3e}".split("e")
    e = int(exponent)
    return f"{mantissa}e{e:+d}" if e >= 4 else f"{v:.{3 - e}f}"


def card_stats(driver, index) -> str:
    return driver.find_element("css selector", f"#layer-{index} .stats").text


def stats_line(a: np.ndarray) -> str:
    return f"mean {fmt(float(a.mean()))} std {fmt(float(a.std()))} min {fmt(float(a.min()))} max {fmt(float(a.max()))}"


def click(driver, button):
    driver.find_element("id", button).click()
    idle(driver)


def test_forward_backward_step_show_the_models_numbers(served):
    driver, server = served
    assert driver.find_element("id", "steps").text == "0"
    session = server.session
    click(driver, "forward")
    assert driver.find_element("id", "phase").text == "forward"
    for i, out in enumerate(session.outputs):          # each card: its layer's output, as computed
        assert card_stats(driver, i) == stats_line(out)
        heat = driver.find_element("css selector", f"#layer-{i} canvas.heat")
        assert (int(heat.get_attribute("data-rows")), int(heat.get_attribute("data-cols"))) == (32, out.shape[1])
    click(driver, "backward")
    for i, grad in enumerate(session.grad_outputs):
        assert card_stats(driver, i) == stats_line(grad)
    last = session.layers[-1]
    assert f"‖dL/dW‖ {fmt(float(np.linalg.norm(last.grads['W'])))}" in \
        driver.find_element("css selector", "#layer-4 .extra").text
    before = last.params["W"].copy()
    click(driver, "step")
    wait_until(driver, lambda d: d.find_element("id", "steps").text == "1")
    assert card_stats(driver, 4) == stats_line(last.params["W"])
    change = float(np.linalg.norm(last.params["W"] - before))
    assert f"‖ΔW‖ {fmt(change)}" in driver.find_element("css selector", "#layer-4 .extra").text
    assert console_errors(driver) == []


def test_a_button_out_of_order_shows_why(served):
    driver, _ = served
    click(driver, "step")                                 # nothing went forward since the last step
    assert driver.find_element("id", "error").text.startswith("press Backward first")
    assert console_errors(driver, allowed=("409",)) == []


def test_train_makes_the_loss_fall(served):
    driver, server = served
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "optimizer")).select_by_value("adam")
    lr = driver.find_element("id", "lr")
    lr.clear()
    lr.send_keys("0.03")
    click(driver, "apply")
    start = float(driver.find_element("id", "loss").text)
    driver.find_element("id", "train").click()
    wait_until(driver, lambda d: int(d.find_element("id", "steps").text) >= 300, timeout=25)
    driver.find_element("id", "train").click()            # Stop
    idle(driver)
    assert float(driver.find_element("id", "loss").text) < 0.5 * start
    assert server.session.setup.optimizer == "adam" and server.session.steps >= 300
    assert len(driver.find_elements("css selector", "#norms .norm-row")) == 3
    if SCREENSHOT:
        click(driver, "forward")
        driver.save_screenshot(SCREENSHOT)
    assert console_errors(driver) == []
