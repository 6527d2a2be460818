"""Web page tests with the Flask test client: the form works without JavaScript and is safe."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from moviegenre.serving.web import EXAMPLES, highlight

STATIC = Path(__file__).resolve().parent.parent / "src" / "moviegenre" / "serving" / "static"


class _Tags(HTMLParser):
    """Collects (tag, attrs) for every start tag, to check markup without string matching."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_page_has_the_form_examples_and_viewport(tfidf_client):
    response = tfidf_client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = tags(html)
    forms = [a for t, a in found if t == "form"]
    assert forms == [{"id": "predict-form", "method": "post", "action": "/#result",
                      "enctype": "multipart/form-data"}]  # fmt: skip
    assert any(t == "textarea" and a.get("name") == "plot" for t, a in found)
    assert any(t == "input" and a.get("name") == "explain" and a.get("type") == "checkbox"
               for t, a in found)  # fmt: skip
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in found)
    examples = [a for t, a in found if t == "a" and "example" in (a.get("class") or "")]
    assert 3 <= len(examples) == len(EXAMPLES) <= 4
    assert "/?example=0" in html


def test_no_inline_script_or_style_and_no_external_assets(tfidf_client):
    html = tfidf_client.post("/", data={"plot": "ghost haunted"}).get_data(as_text=True)
    for tag, attrs in tags(html):
        assert "style" not in attrs, f"inline style on <{tag}> (blocked by the CSP)"
        assert not any(name.startswith("on") for name in attrs), f"inline handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), "inline or external script"
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http:", "https:", "//")), f"external asset {value}"
    assert "<style" not in html


def test_form_post_renders_result_without_javascript(tfidf_client):
    response = tfidf_client.post("/", data={"plot": "A haunted house: a ghost, blood and a demon."})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    chips = re.findall(r'<li class="chip">([^<]+)</li>', html)
    assert "Horror" in chips
    rows = re.findall(r'<li class="bar-row[^"]*">\s*<span class="name">([^<]+)</span>', html)
    assert sorted(rows) == sorted(["Action", "Comedy", "Horror", "Romance", "Science Fiction"])
    assert rows[0] == "Horror"  # sorted by probability, most likely first
    widths = [int(w) for w in re.findall(r'class="fill w-(\d+)"', html)]
    assert widths == sorted(widths, reverse=True) and len(widths) == 5
    assert len(re.findall(r'class="mark l-\d+"', html)) == 5


def test_example_link_prefills_and_predicts(tfidf_client):
    html = tfidf_client.get("/?example=1").get_data(as_text=True)
    assert "safecracker" in html
    assert 'class="chip"' in html


def test_blank_plot_shows_an_error(tfidf_client):
    response = tfidf_client.post("/", data={"plot": "   "})
    assert response.status_code == 400
    assert "plot summary first" in response.get_data(as_text=True)


def test_script_in_plot_is_shown_as_text(tfidf_client):
    plot = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    html = tfidf_client.post("/", data={"plot": plot}).get_data(as_text=True)
    assert (
        "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
        in html
    )
    assert "<script>alert" not in html
    assert not any(t == "img" for t, _ in tags(html))


def test_css_has_a_class_for_every_bar_width():
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    for i in range(101):
        assert f".w-{i} {{ width: {i}%; }}" in css
        assert f".l-{i} {{ left: {i}%; }}" in css


def test_static_assets_are_served(tfidf_client):
    for name, mimetype in (("style.css", "text/css"), ("app.js", "text/javascript")):
        response = tfidf_client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.mimetype == mimetype


def test_unknown_page_is_html_404(tfidf_client):
    response = tfidf_client.get("/nope")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_highlight_keeps_text_and_marks_words():
    plot = "The ghost, sadly, loves  kittens!"
    pairs = [["The", 0.05], ["ghost", 0.9], ["sadly", -0.3], ["loves", 0.1], ["kittens", -0.9]]
    runs = highlight(plot, pairs)
    assert "".join(text for text, _ in runs) == plot
    marked = {text: css for text, css in runs if css}
    assert marked["ghost"] == "pos-5" and marked["kittens"] == "neg-5"
    assert marked["sadly"] == "neg-2" and marked["loves"] == "pos-1"
    assert "The" not in marked


def test_explain_checkbox_renders_highlights_without_javascript(tfidf_client):
    html = tfidf_client.post(
        "/", data={"plot": "A ghost haunts the house.", "explain": "on"}
    ).get_data(as_text=True)
    assert re.search(r'<span class="(pos|neg)-[1-5]">ghost</span>', html)


def _shown(html: str, element_id: str) -> bool:
    """Whether the element with `element_id` is rendered without the hidden attribute."""
    found = [a for _, a in tags(html) if a.get("id") == element_id]
    assert len(found) == 1, element_id
    return "hidden" not in found[0]


def test_gibberish_says_why_no_genre_and_shows_the_prior(tfidf_client):
    response = tfidf_client.post("/", data={"plot": "asdkjh qwpoeiru zxmcnv bvlkqw"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert not _shown(html, "none")  # "no genre is above its threshold" would contradict bars
    assert _shown(html, "withheld") and "cannot read this plot" in html
    bars = [a for _, a in tags(html) if a.get("id") == "bars"][0]
    assert "prior" in bars["class"].split()
    warnings = re.findall(r'<li class="warning" data-code="[a-z_]+">(.)', html)
    assert warnings and all(first.isupper() for first in warnings)
    readable = tfidf_client.post("/", data={"plot": "A ghost haunts a family in an old house."})
    html = readable.get_data(as_text=True)
    assert not _shown(html, "withheld") and not _shown(html, "threshold-note")


def test_footer_and_tagline_speak_to_users(tfidf_client):
    html = tfidf_client.get("/").get_data(as_text=True)
    footer = html[html.index("<footer") :]
    assert "Reads plot summaries" in footer and "Model:" not in footer
    assert "genres from a plot summary" in html


def test_the_page_names_the_plot_language_in_words(tfidf_client):
    french = "Un tueur à gages à la retraite reprend du service quand des gangsters tuent son chat."
    html = tfidf_client.post("/", data={"plot": french}).get_data(as_text=True)
    assert re.search(r"French \(fr, \d+%\)", html)
    gibberish = tfidf_client.post("/", data={"plot": "asdkjh qwpoeiru zxmcnv bvlkqw"})
    assert "none recognised" in gibberish.get_data(as_text=True)
