"""Screenshots of the web page (desktop and phone) for docs/screenshots/, from the real server.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts `moviegenre serve` with the shipped model on a free loopback port, drives Debian's
Chromium (/usr/bin/chromium) through Playwright, and for each case fills the form, presses
"Predict genres" and saves what the screen shows: a plot, a plot with a poster (drawn here, not
a real one), gibberish, and a French plot. The phone shots are the visible screen after Predict
(the answer must be in view); the desktop shots are the whole page. Each PNG is reduced to 256
colours so it stays small.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

# One way to start the real server for a script: the hostile-poster benchmark's.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from hostile_posters import free_port, start_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]
PLOT = (
    "After moving into an old farmhouse, a family hears whispers in the walls at night. When "
    "their youngest daughter starts talking to someone nobody else can see, they call a priest."
)
FRENCH = (
    "Un tueur à gages à la retraite reprend du service quand des gangsters tuent son chien et "
    "volent sa voiture."
)
GIBBERISH = "asdkjh qwpoeiru zxmcnv bvlkqw ptoiuy mnbvcx"
VIEWPORTS = {"desktop": {"width": 1200, "height": 900}, "phone": {"width": 390, "height": 844}}


def draw_poster(path: Path) -> None:
    """A made-up horror poster: a dark night, a house, a lit window and a title bar."""
    image = Image.new("RGB", (300, 450), (18, 20, 38))
    draw = ImageDraw.Draw(image)
    draw.ellipse((200, 40, 260, 100), fill=(225, 225, 200))  # the moon
    draw.polygon([(60, 260), (150, 180), (240, 260)], fill=(40, 30, 35))  # roof
    draw.rectangle((75, 260, 225, 380), fill=(50, 40, 45))  # house
    draw.rectangle((135, 290, 165, 325), fill=(230, 190, 60))  # a lit window
    draw.rectangle((0, 395, 300, 450), fill=(120, 10, 10))
    draw.text((95, 412), "THE WHISPERS", fill=(245, 235, 235))
    image.save(path)


def shrink_png(path: Path) -> None:
    """256 colours: the page is flat colours and text, so it looks the same at a third the size."""
    image = Image.open(path).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = start_server(port)
    try:
        with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
            poster = Path(scratch) / "the-whispers.png"
            draw_poster(poster)
            cases = {"plot": (PLOT, None), "plot-poster": (PLOT, poster),
                     "gibberish": (GIBBERISH, None), "french": (FRENCH, None)}  # fmt: skip
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for device, viewport in VIEWPORTS.items():
                for name, (plot, image) in cases.items():
                    context = browser.new_context(viewport=viewport, is_mobile=device == "phone")
                    page = context.new_page()
                    page.goto(f"http://127.0.0.1:{port}/")
                    page.fill("#plot", plot)
                    if image is not None:
                        page.set_input_files("#poster", str(image))
                        expect(page.locator("#poster-preview")).to_be_visible()
                    with page.expect_response("**/api/v1/predict"):
                        page.click("#predict-button")
                    expect(page.locator("#result[data-answered='1']")).to_be_visible()
                    path = args.out / f"{name}-{device}.png"
                    page.screenshot(path=str(path), full_page=device == "desktop")
                    shrink_png(path)
                    print(f"{path}: {path.stat().st_size // 1024} KB")
                    context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
