"""End to end in headless Chromium: type a plot, see genres, and no injected script runs.

Every wait is on a locator (Playwright's `expect`, which retries) or a Python-side event, never a
string the page evaluates: the page's Content-Security-Policy forbids eval, so such a wait works
only when its condition already holds. After each prediction the tests wait for the page's
answer counter (`#result[data-answered=N]`), not for a state an earlier answer may already show.
"""

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


def expect(target):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def predict(page, answered: int) -> None:
    """Click "Predict genres" (JavaScript path) and wait until the page shows answer `answered`."""
    with page.expect_response("**/api/v1/predict"):  # no page reload
        page.click("#predict-button")
    expect(page.locator(f"#result[data-answered='{answered}']")).to_be_visible()


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
        predict(page, 1)
        assert "Horror" in page.locator("#genres .chip").all_inner_texts()
        assert page.locator("#bars .bar-row").count() == 5
        assert page.locator("#withheld").is_hidden() and page.locator("#threshold-note").is_hidden()
        assert "fusion" not in page.locator("footer").inner_text()
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
        predict(page, 1)
        expect(page.locator("#warnings")).to_be_visible()
        codes = page.locator("#warnings .warning").evaluate_all(
            "items => items.map(item => item.dataset.code)"
        )
        assert codes == ["unknown_words", "too_short"]
        assert all(
            text[0].isupper() for text in page.locator("#warnings .warning").all_inner_texts()
        )
        assert page.locator("#genres .chip").count() == 0  # unreadable: no genre
        # The page says why no genre is named and shows the bars as the prior, not "none above".
        assert page.locator("#none").is_hidden()
        assert "cannot read this plot" in page.locator("#withheld").inner_text()
        assert "prior" in page.locator("#bars").get_attribute("class")
        assert "not applied" in page.locator("#legend-rule").inner_text()
        assert page.locator("#bars-heading").text_content() == "What the model expects of any plot"
        warnings_y = page.locator("#warnings").bounding_box()["y"]
        assert warnings_y < page.locator("#bars").bounding_box()["y"]
        assert "calibrated on validation data" in page.locator(".legend").first.inner_text()
        page.fill("#plot", "A haunted house where a ghost and a demon scream in the night.")
        predict(page, 2)
        assert page.locator("#warnings").is_hidden() and page.locator("#withheld").is_hidden()
        assert "prior" not in page.locator("#bars").get_attribute("class")
        assert not problems, problems
    finally:
        context.close()


def test_injected_script_does_not_run(browser, server):
    context, page, problems = open_page(browser, server, viewport={"width": 1200, "height": 900})
    try:
        page.fill("#plot", XSS_PLOT)
        predict(page, 1)
        # Also the server-rendered path (form post without JavaScript's help).
        with page.expect_navigation():
            page.evaluate("document.getElementById('predict-form').submit()")
        expect(page.locator("#result .chip").first).to_be_visible()
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
        predict(page, 1)
        expect(page.locator("#explained span").first).to_be_visible()
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
        with page.expect_navigation():
            page.click("#predict-button")  # a plain form post, rendered by the server
        expect(page.locator("#genres .chip").first).to_be_visible()
        assert page.locator("#genres .chip").count() >= 1
        top = page.locator("#result").bounding_box()["y"]
        assert 0 <= top < 844, "the answer is scrolled into view (the form posts to /#result)"
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
        expect(page.locator("#poster-preview")).to_be_visible()
        assert page.evaluate("document.getElementById('poster-preview').naturalWidth") == 120
        assert page.locator("#poster-name").inner_text() == "poster.png"
        box = page.locator("#poster-preview").bounding_box()
        assert box["height"] <= 100, "a compact thumbnail, not a full-height preview"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the hidden file input widens the page"
        predict(page, 1)  # no plot: the poster alone
        assert page.locator("#inputs-used").inner_text() == "poster"
        assert page.locator("#genres .chip").first.inner_text() == "Comedy"
        assert page.locator("#bars .bar-row").count() == 5
        assert "poster model's" in page.locator("#threshold-note").inner_text()
        page.fill("#plot", "A haunted house where a ghost and a demon scream in the night.")
        predict(page, 2)
        expect(page.locator("#inputs-used")).to_have_text("plot + poster")
        assert "blends" in page.locator("#threshold-note").inner_text()
        page.screenshot(path=str(ARTIFACTS / "page-poster.png"), full_page=True)
        page.click("#poster-clear")  # drop the poster: the plot alone again
        assert page.locator("#poster-preview").is_hidden()
        predict(page, 3)
        expect(page.locator("#inputs-used")).to_have_text("plot")
        assert page.locator("#threshold-note").is_hidden()
        assert not problems, problems
    finally:
        context.close()


def test_a_file_that_is_not_an_image_leaves_no_broken_icon(browser, poster_server, tmp_path):
    context, page, problems = open_page(
        browser, poster_server, viewport={"width": 1200, "height": 900}
    )
    try:
        fake = tmp_path / "notes.png"
        fake.write_text("these are my notes, not a picture")
        page.set_input_files("#poster", str(fake))
        expect(page.locator("#error")).to_contain_text("not a picture this page can read")
        assert page.locator("#poster-preview").is_hidden()
        assert page.locator("#poster-name").inner_text() == "No poster chosen"
        assert "Pillow" not in page.locator("#error").inner_text()
    finally:
        context.close()


def test_the_answer_comes_into_view_on_a_phone(browser, server):
    context, page, problems = open_page(
        browser, server, viewport={"width": 390, "height": 700}, is_mobile=True
    )
    try:
        page.fill("#plot", "A haunted house where a ghost and a demon scream in the night.")
        predict(page, 1)
        top = page.locator("#result").bounding_box()["y"]
        assert 0 <= top < 700, f"the answer is off screen (top at {top} px)"
        assert page.evaluate("document.activeElement.id") == "result-heading"
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
        with page.expect_navigation():
            page.click("#predict-button")  # a multipart form post, rendered by the server
        expect(page.locator("#genres .chip").first).to_be_visible()
        assert page.locator("#inputs-used").inner_text() == "poster"
        assert page.locator("#genres .chip").first.inner_text() == "Horror"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the page scrolls sideways on a phone"
        page.screenshot(path=str(ARTIFACTS / "page-poster-phone.png"), full_page=True)
    finally:
        context.close()
