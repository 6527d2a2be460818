"""End to end in headless Chromium: type a plot, see genres, and no injected script runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from server_fixture import running_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"),
]  # fmt: skip

XSS_PLOT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> ghost'


@pytest.fixture(scope="module")
def server(tfidf_bundle: Path):
    with running_server(tfidf_bundle) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        # Debian's Chromium, never a downloaded one.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


def open_page(browser, server, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"http://127.0.0.1:{server.port}/")
    return context, page, problems


def test_predict_in_the_browser(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    context, page, problems = open_page(browser, server, viewport={"width": 1200, "height": 1000})
    try:
        page.fill("#plot", "A haunted house where a ghost and a demon scream in the night.")
        with page.expect_response("**/api/v1/predict"):  # JavaScript path: no page reload
            page.click("#predict-button")
        page.wait_for_selector("#result:not([hidden]) .chip")
        assert "Horror" in page.locator("#genres .chip").all_inner_texts()
        assert page.locator("#bars .bar-row").count() == 5
        width = page.locator("#bars .bar-row .fill").first.bounding_box()["width"]
        assert width > 0, "the bar width class was applied"
        page.screenshot(path=str(ARTIFACTS / "page-desktop.png"), full_page=True)
        assert not problems, problems  # no CSP violations, no script errors
    finally:
        context.close()


def test_warnings_show_above_the_bars(browser, server):
    context, page, problems = open_page(browser, server, viewport={"width": 1200, "height": 1000})
    try:
        page.fill("#plot", "Zorblax quimfrotz.")  # two words the model has never seen
        with page.expect_response("**/api/v1/predict"):
            page.click("#predict-button")
        page.wait_for_selector("#warnings:not([hidden]) .warning")
        codes = page.locator("#warnings .warning").evaluate_all(
            "items => items.map(item => item.dataset.code)"
        )
        assert codes == ["unknown_words", "too_short"]
        assert page.locator("#genres .chip").count() == 0  # unreadable: no genre
        warnings_y = page.locator("#warnings").bounding_box()["y"]
        assert warnings_y < page.locator("#bars").bounding_box()["y"]
        assert "calibrated on validation data" in page.locator(".legend").first.inner_text()
        page.fill("#plot", "A haunted house where a ghost and a demon scream in the night.")
        with page.expect_response("**/api/v1/predict"):
            page.click("#predict-button")
        page.wait_for_selector("#warnings[hidden]", state="attached")
        assert not problems, problems
    finally:
        context.close()


def test_injected_script_does_not_run(browser, server):
    context, page, problems = open_page(browser, server, viewport={"width": 1200, "height": 900})
    try:
        page.fill("#plot", XSS_PLOT)
        page.click("#predict-button")
        page.wait_for_selector("#result:not([hidden]) .chip")
        # Also the server-rendered path (form post without JavaScript's help).
        page.evaluate("document.getElementById('predict-form').submit()")
        page.wait_for_load_state()
        page.wait_for_selector("#result:not([hidden]) .chip")
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#plot").input_value() == XSS_PLOT
        assert page.locator("main img").count() == 0
    finally:
        context.close()


def test_explain_highlights_words(browser, server):
    context, page, problems = open_page(browser, server, viewport={"width": 1200, "height": 1100})
    try:
        page.fill("#plot", "A ghost haunts the old house while a couple falls in love.")
        page.check("#explain")
        page.click("#predict-button")
        page.wait_for_selector("#explained:not([hidden]) span")
        options = page.locator("#explain-genre option").all_inner_texts()
        assert len(options) >= 2
        page.select_option("#explain-genre", index=1)
        assert page.locator("#explained").inner_text().startswith("A ghost haunts")
        marked = page.locator("#explained span[class^='pos'], #explained span[class^='neg']")
        assert marked.count() > 0
        page.screenshot(path=str(ARTIFACTS / "page-explain.png"), full_page=True)
        assert not problems, problems
    finally:
        context.close()


def test_phone_width_without_javascript(browser, server):
    context, page, problems = open_page(
        browser, server, viewport={"width": 390, "height": 844}, java_script_enabled=False,
        is_mobile=True,
    )  # fmt: skip
    try:
        page.fill("#plot", "Two rival wedding planners fall in love, with hilarious pranks.")
        page.click("#predict-button")  # a plain form post, rendered by the server
        page.wait_for_selector("#result:not([hidden]) .chip")
        assert page.locator("#genres .chip").count() >= 1
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page scrolls sideways on a phone"
        page.screenshot(path=str(ARTIFACTS / "page-phone.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture(scope="module")
def poster_server(poster_world):
    with running_server(poster_world.fusion) as running:
        yield running


def _poster_file(tmp_path: Path, genres: list[str]) -> Path:
    import numpy as np
    from poster_fixture import poster_image

    path = tmp_path / "poster.png"
    poster_image(genres, np.random.default_rng(7), size=(120, 180)).save(path)
    return path


def test_upload_a_poster_see_it_and_get_bars(browser, poster_server, tmp_path):
    context, page, problems = open_page(
        browser, poster_server, viewport={"width": 1200, "height": 1100}
    )
    try:
        page.set_input_files("#poster", str(_poster_file(tmp_path, ["Comedy"])))
        page.wait_for_selector("#poster-preview:not([hidden])")
        assert page.evaluate("document.getElementById('poster-preview').naturalWidth") == 120
        with page.expect_response("**/api/v1/predict"):
            page.click("#predict-button")  # no plot: the poster alone
        page.wait_for_selector("#result:not([hidden]) .chip")
        assert page.locator("#inputs-used").inner_text() == "poster"
        assert page.locator("#genres .chip").first.inner_text() == "Comedy"
        assert page.locator("#bars .bar-row").count() == 5
        page.fill("#plot", "A haunted house where a ghost and a demon scream in the night.")
        with page.expect_response("**/api/v1/predict"):
            page.click("#predict-button")
        # a selector, not wait_for_function: the page's CSP forbids the eval a polled string needs
        page.wait_for_selector("#inputs-used:text-is('plot + poster')")
        page.screenshot(path=str(ARTIFACTS / "page-poster.png"), full_page=True)
        page.click("#poster-clear")  # drop the poster: the plot alone again
        assert page.locator("#poster-preview").is_hidden()
        with page.expect_response("**/api/v1/predict"):
            page.click("#predict-button")
        page.wait_for_selector("#inputs-used:text-is('plot')")
        assert not problems, problems
    finally:
        context.close()


def test_poster_on_a_phone_without_javascript(browser, poster_server, tmp_path):
    context, page, problems = open_page(
        browser, poster_server, viewport={"width": 390, "height": 844},
        java_script_enabled=False, is_mobile=True,
    )  # fmt: skip
    try:
        page.set_input_files("#poster", str(_poster_file(tmp_path, ["Horror"])))
        page.click("#predict-button")  # a multipart form post, rendered by the server
        page.wait_for_selector("#result:not([hidden]) .chip")
        assert page.locator("#inputs-used").inner_text() == "poster"
        assert page.locator("#genres .chip").first.inner_text() == "Horror"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page scrolls sideways on a phone"
        page.screenshot(path=str(ARTIFACTS / "page-poster-phone.png"), full_page=True)
    finally:
        context.close()
