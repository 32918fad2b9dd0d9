"""The review page in a real browser: headless Chromium (Debian's chromium + chromium-driver) via Selenium.

Live review: three digits answered by keyboard, saved, still there after a reload, applied. Static page:
answers by keyboard and mouse, kept over a reload, exported as a file, applied. Each test saves a screenshot
of the review page and prints where. Skipped when Chromium is absent locally; under CI=true they fail instead.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from digitscan.cli import app

from .review_helpers import DOUBTFUL, item_id, make_results, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FIRST, SECOND, THIRD, FOURTH = list(DOUBTFUL)
runner = CliRunner()


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (bash scripts/setup.sh --dev)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.is_file():
            return f"{path} is missing: apt-get install -y chromium chromium-driver (bash scripts/setup.sh --dev)"
    return None


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[Any]:
    """Headless Chromium; never lets Selenium Manager look for (or download) a driver."""
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,900")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, condition: Any, seconds: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def _open(driver: Any, url: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: _body(d).get_attribute("data-ready") == "true")


def _body(driver: Any) -> Any:
    return driver.find_element("tag name", "body")


def _text(driver: Any, element_id: str) -> str:
    return str(driver.find_element("id", element_id).text)


def _current(driver: Any) -> str:
    return str(_body(driver).get_attribute("data-item-id"))


def _keys(driver: Any, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def _crop_is_shown(driver: Any) -> bool:
    return bool(
        driver.execute_script("const i = document.getElementById('crop'); return i.complete && i.naturalWidth > 0")
    )


def _screenshot(driver: Any, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert driver.save_screenshot(str(path))
    with capsys.disabled():
        print(f"\nreview page screenshot: {path}")


def _human_rows(path: Path) -> dict[tuple[str, str, str], list[dict[str, str]]]:
    numbers: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in csv.DictReader(path.open()):
        numbers.setdefault((row["file"], row["page"], row["number"]), []).append(row)
    return numbers


def test_live_review_by_keyboard_survives_a_reload_and_applies(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from selenium.webdriver.common.keys import Keys

    results = make_results(tmp_path)
    ids = [item_id(results, where) for where in DOUBTFUL]
    with serving(results) as server:
        _open(browser, server.url)
        assert _text(browser, "progress-text") == "reviewed 0 of 4"
        assert _current(browser) == ids[0]
        assert "cheque_001.png" in _text(browser, "where") and "page 1" in _text(browser, "where")
        assert (_text(browser, "first-digit"), _text(browser, "second-digit")) == ("5", "3")
        assert "41.0%" in _text(browser, "first-choice") and "40.0%" in _text(browser, "second-choice")
        _wait(browser, _crop_is_shown)
        mark = browser.find_element("id", "crop-digit-mark")
        assert mark.size["width"] > 5 and mark.size["height"] > 5  # the digit is highlighted in its number

        _keys(browser, "3")  # the model read 5: correct it
        assert _current(browser) == ids[1]  # the next digit is there at once
        _keys(browser, "4")
        assert _current(browser) == ids[2]
        _keys(browser, Keys.ENTER)  # the model was right
        assert _current(browser) == ids[3]
        assert _text(browser, "progress-text") == "reviewed 3 of 4"
        _wait(browser, lambda d: d.find_element("id", "save-status").get_attribute("data-state") == "saved")

        _keys(browser, "+", "p")  # zoom, and the whole page around the digit
        assert _text(browser, "zoom-text") == "125%"
        assert browser.find_element("id", "page-view").is_displayed()
        _wait(browser, lambda d: d.execute_script("return document.getElementById('page-img').naturalWidth > 0"))
        _screenshot(browser, tmp_path / "review-page.png", capsys)

        browser.refresh()
        _wait(browser, lambda d: _body(d).get_attribute("data-ready") == "true")
        assert _text(browser, "progress-text") == "reviewed 3 of 4"
        assert _current(browser) == ids[3]  # the first digit not yet answered
        _keys(browser, Keys.ARROW_LEFT)
        assert _current(browser) == ids[2] and "the model's choice" in _text(browser, "answer")
        _keys(browser, Keys.ARROW_LEFT)
        assert _current(browser) == ids[1] and _text(browser, "answer") == "your answer: 4 (corrected)"

    out = tmp_path / "corrected.csv"
    result = runner.invoke(app, ["apply", str(results), "--out", str(out)])
    assert result.exit_code == 0, result.output
    numbers = _human_rows(out)
    assert [r["digit"] for r in numbers["cheque_001.png", "1", "2"]] == ["1", "3", "8", "4"]
    assert numbers["cheque_001.png", "1", "2"][1]["source"] == "human"
    assert numbers["mixed_004.pdf", "2", "8"][0]["number_text"] == "9784"
    assert numbers["mixed_004.pdf", "1", "1"][0]["source"] == "human"
    assert numbers["cheque_001.png", "1", "0"][7]["needs_review"] == "true"  # not answered: still the model's
    assert sum(r["source"] == "human" for rows in numbers.values() for r in rows) == 3


def test_static_page_answers_export_and_apply(
    browser: Any, tmp_path: Path, downloads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = make_results(tmp_path)
    page = tmp_path / "review.html"
    result = runner.invoke(app, ["review", str(results), "--html", str(page)])
    assert result.exit_code == 0, result.output
    ids = [item_id(results, where) for where in DOUBTFUL]
    _open(browser, page.as_uri())
    browser.execute_script("localStorage.clear()")  # the page keeps answers per results file; start afresh
    browser.refresh()
    _wait(browser, lambda d: _body(d).get_attribute("data-ready") == "true")
    assert _current(browser) == ids[0] and _crop_is_shown(browser)

    browser.find_element("id", "digit-3").click()  # the mouse works too
    browser.find_element("id", "second-choice").click()  # the model's second choice: 4
    assert _current(browser) == ids[2]
    _keys(browser, "x")  # "not a digit"
    assert _current(browser) == ids[3]
    browser.find_element("id", "skip").click()  # nothing else is open: it stays
    assert _current(browser) == ids[3] and "nothing else" in _text(browser, "notice")
    assert _text(browser, "progress-text") == "reviewed 3 of 4"
    _screenshot(browser, tmp_path / "static-review-page.png", capsys)

    browser.refresh()  # answers are kept in the browser until exported
    _wait(browser, lambda d: _body(d).get_attribute("data-ready") == "true")
    assert _text(browser, "progress-text") == "reviewed 3 of 4"

    exported = downloads / "results.corrections.json"
    exported.unlink(missing_ok=True)
    _keys(browser, "e")
    deadline = time.monotonic() + 20
    while not exported.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert json.loads(exported.read_text())["results"] == "results.json"

    out = tmp_path / "corrected.json"
    result = runner.invoke(app, ["apply", str(results), "--corrections", str(exported), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 confirmed, 2 corrected, 1 not digits" in " ".join(result.output.split())
    files = {f["file"]: f for f in json.loads(out.read_text())["files"]}
    cheque = files["cheque_001.png"]["pages"][0]["numbers"]
    assert (cheque[2]["text"], cheque[2]["digits"][1]["source"]) == ("1384", "human")
    mixed = files["mixed_004.pdf"]["pages"]
    assert mixed[1]["numbers"][8]["text"] == "9784"
    assert mixed[0]["numbers"][1]["text"] == "0755"  # the "5" marked not a digit is gone
    assert [d["position"] for d in mixed[0]["numbers"][1]["digits"]] == [0, 1, 2, 3]
