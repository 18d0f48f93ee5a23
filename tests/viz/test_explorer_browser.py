"""The explorer in a real browser: headless Chromium through Selenium opens pages from
file:// URLs, and the tests click, press keys and read what the page shows.

Locally these skip (with the reason) when Chromium, chromedriver or selenium is missing;
with the environment variable CI set, a missing browser fails the run instead.
"""
import json
import os
import re
import shutil
import tempfile

import numpy as np
import pytest

import minigrad as mg

viz = pytest.importorskip("minigrad.viz")
from viz_graphs import mlp_graph  # noqa: E402
from test_explorer import diamond  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900"]
NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|NaN|-?Infinity")


def _missing() -> str:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium, or the dev extra)"
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"{program} is not on PATH (apt-get install chromium chromium-driver)"
    return ""


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module, logging console and network events."""
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the real browser for the explorer tests: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="mgx-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, path):
    """Load a page from its file:// URL; returns the requests it made beyond the page itself
    and the console errors."""
    browser.get_log("performance")
    browser.get_log("browser")
    url = "file://" + str(path)
    browser.get(url)
    assert browser.execute_script("return document.querySelector('.mgx').dataset.ready") == "1"
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            params = message["params"]
            asked = params["request"]["url"]
            # the browser's own chrome:// pages are not the page's; any web request is
            if asked != url and (params.get("documentURL") == url
                                 or re.match(r"(https?|wss?|ftp):", asked)):
                requests.append(asked)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    return requests, errors


def numbers(text):
    return [float(n) for n in NUMBER.findall(text)]


def test_click_a_parameter_and_read_its_gradient(browser, tmp_path):
    from selenium.webdriver.common.by import By
    loss, model, x = mlp_graph()
    path = tmp_path / "mlp.html"
    e = viz.explore(loss, path)
    requests, errors = open_page(browser, path)
    assert requests == [] and errors == []
    loss.backward()
    for param in (model[0].layers[2].weight, model[1].linear.bias if hasattr(model[1], "linear")
                  else list(model[1].parameters())[-1]):
        node = browser.find_element(By.CSS_SELECTOR, f'g.node[data-node="f_{e.id_of(param)}"]')
        node.click()
        panel = browser.find_element(By.CSS_SELECTOR, ".mgx-panel")
        assert panel.get_attribute("data-show") == e.id_of(param)
        shown = numbers(panel.find_element(By.CSS_SELECTOR, ".mgx-grad .mgx-exact").text)
        # printed to 6 significant digits: equal to the engine's .grad at that precision
        np.testing.assert_allclose(shown, param.grad.ravel(), rtol=5e-6, atol=1e-300)
    browser.save_screenshot(str(tmp_path / "mlp_panel.png"))
    assert (tmp_path / "mlp_panel.png").stat().st_size > 0
    assert browser.get_log("browser") == []


def test_step_through_backward_in_the_engines_order(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    loss, model, x = mlp_graph()
    e = viz.explore(loss, tmp_path / "steps.html", collapse=True)
    open_page(browser, tmp_path / "steps.html")
    engine = [e.id_of(n) for n in sorted(mg.topological_order(loss.grad_fn), key=lambda n: -n.seq)]
    drawn = e.data["snapshots"][0]["drawn"]
    page = browser.find_element(By.CSS_SELECTOR, ".mgx")
    seen = []
    for i in range(len(engine)):
        if i % 2:
            page.send_keys(Keys.ARROW_RIGHT)
        else:
            browser.find_element(By.XPATH, "//button[contains(., 'next')]").click()
        seen.append(page.get_attribute("data-running"))
        # the highlighted backward vertex is the op's own node or the box of its module
        lit = [g.get_attribute("data-node") for g in
               browser.find_elements(By.CSS_SELECTOR, "g.node.mgx-running")]
        backward = [n for n in lit if n.startswith("b_")]
        assert len(backward) == 1
        d = drawn[backward[0]]
        assert d.get("op") == seen[-1] or seen[-1] in d.get("ops", ())
        if i == 3:
            browser.save_screenshot(str(tmp_path / "step4.png"))
    assert seen == engine
    page.send_keys(Keys.ARROW_RIGHT)                      # past the end: stays on the last
    assert page.get_attribute("data-running") == engine[-1]
    page.send_keys(Keys.ARROW_LEFT)
    assert page.get_attribute("data-running") == engine[-2]
    page.send_keys(Keys.HOME)
    assert page.get_attribute("data-step") == "0"
    assert browser.get_log("browser") == []


def test_diamond_partial_sums_show_in_the_step_panel(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    loss, x, y = diamond()
    e = viz.explore(loss, tmp_path / "nan.html")
    requests, errors = open_page(browser, tmp_path / "nan.html")
    assert requests == [] and errors == []
    marked = browser.find_elements(By.CSS_SELECTOR, "g.node.mgx-nonfinite")
    names = {g.get_attribute("data-node") for g in marked}
    log_op = e.data["snapshots"][0]["nonfinite"]["forward"]["op"]
    assert "f_" + log_op in names and "f_" + e.id_of(y) in names
    banner = browser.find_element(By.CSS_SELECTOR, ".mgx-banner").text
    assert "First non-finite value in forward: Log made nan at index (1)" in banner
    assert "from the inputs x" in banner
    assert browser.find_element(By.CSS_SELECTOR, "text.mgx-badge").text == "nan"
    browser.save_screenshot(str(tmp_path / "nan_marker.png"))
    page = browser.find_element(By.CSS_SELECTOR, ".mgx")
    page.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)    # Sum, then Add: y's first part
    panel = browser.find_element(By.CSS_SELECTOR, ".mgx-panel").text
    assert "part 1 of 3 of y's gradient" in panel
    flows = browser.find_elements(By.CSS_SELECTOR, "g.edge.mgx-flow")
    assert len(flows) == 3                                # into Add, out to t4 and to y
    assert browser.get_log("browser") == []


def test_two_explorers_on_one_page_do_not_interfere(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    first = viz.explore(diamond()[0])
    second = viz.explore(mlp_graph()[0])
    path = tmp_path / "notebook.html"
    path.write_text("<!DOCTYPE html><html><body><h1>notebook</h1>" + first._repr_html_()
                    + "<p>between</p>" + second._repr_html_() + "</body></html>")
    browser.get_log("browser")
    browser.get("file://" + str(path))
    pages = browser.find_elements(By.CSS_SELECTOR, ".mgx")
    assert [p.get_attribute("data-ready") for p in pages] == ["1", "1"]
    pages[1].send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert [p.get_attribute("data-step") for p in pages] == ["0", "3"]
    pages[0].find_element(By.CSS_SELECTOR, "g.node").click()
    shown = [p.find_element(By.CSS_SELECTOR, ".mgx-panel").get_attribute("data-show")
             for p in pages]
    assert shown[0] == "t0" and shown[1] == "step"
    assert browser.get_log("browser") == []


def test_timeline_slider_scrubs_the_snapshots(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from minigrad.explorer import Timeline
    mu = mg.nn.Parameter(np.array(3.0))
    mu.name = "mu"
    opt = mg.optim.SGD([mu], lr=0.1)
    timeline = Timeline()
    for step in range(6):
        loss = mu * mu
        if step % 5 == 0:
            timeline.record(step, loss)
        timeline.log(step, loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = timeline.save(tmp_path / "timeline.html")
    requests, errors = open_page(browser, path)
    assert requests == [] and errors == []
    label = browser.find_element(By.CSS_SELECTOR, ".mgx-sliderlabel")
    assert label.text.startswith("0 (1 of 2), loss 9")
    browser.execute_script("const s = document.querySelector('.mgx-slider'); s.value = 1;"
                           "s.dispatchEvent(new Event('input'));")
    assert label.text.startswith("5 (2 of 2)")
    browser.find_element(By.CSS_SELECTOR, 'g.node[data-node="f_t0"]').click()
    grad = numbers(browser.find_element(By.CSS_SELECTOR, ".mgx-grad .mgx-exact").text)
    assert grad == pytest.approx([6.0 * 0.8 ** 5], rel=5e-6)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".mgx-curve polyline")) == 1
    browser.save_screenshot(str(tmp_path / "timeline.png"))
    assert browser.get_log("browser") == []


def test_the_request_and_error_checks_can_fail(browser, tmp_path):
    # the no-request / no-error checks above would catch a page that did either
    page = viz.explore(diamond()[0]).to_html()
    probe = page.replace("<meta http-equiv=\"Content-Security-Policy\"", "<meta name=\"x\"")
    probe = probe.replace("</body>", '<img src="http://127.0.0.1:9/x.png">'
                          "<script>undefinedFunction()</script></body>")
    (tmp_path / "probe.html").write_text(probe)
    requests, errors = open_page(browser, tmp_path / "probe.html")
    assert requests == ["http://127.0.0.1:9/x.png"]
    assert any("undefinedFunction" in e["message"] for e in errors)
