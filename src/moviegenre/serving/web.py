"""The web page blueprint: a server-rendered form that works without JavaScript."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from moviegenre.images.reader import PosterError, read_poster
from moviegenre.movie import Movie
from moviegenre.prediction import Prediction
from moviegenre.serving.bodies import (
    NON_BLANK,
    BadPredictRequest,
    poster_http_error,
    read_predict_request,
)
from moviegenre.serving.service import current_service
from moviegenre.text.checks import LANGUAGE_NAMES

# Templates and static files live beside app.py, where the Flask app itself finds them.
web = Blueprint("web", __name__)

EXAMPLES = [
    (
        "Haunted house",
        "After moving into an old farmhouse, a family hears whispers in the walls at night. "
        "When their youngest daughter starts talking to someone nobody else can see, they call "
        "a priest, but the thing in the cellar has been waiting for them.",
    ),
    (
        "Heist",
        "A retired safecracker is pulled back for one last job: robbing a casino vault during a "
        "boxing match. With a crooked detective on their trail, the crew must pull off the heist "
        "before a ruthless gangster learns who betrayed him.",
    ),
    (
        "Space rescue",
        "When a mining ship goes silent near Jupiter, a small crew is sent to investigate. They "
        "find the ship's computer has taken control, and they must outwit it before their air "
        "runs out and the station falls into the planet.",
    ),
    (
        "Wedding comedy",
        "Two rival wedding planners are hired for the same chaotic wedding. As the bride's "
        "eccentric family causes one disaster after another, the planners slowly realise they "
        "are falling for each other.",
    ),
]


def percent(value: float) -> int:
    """A probability as a whole percentage 0..100 (the CSS width classes are whole numbers)."""
    return max(0, min(100, round(float(value) * 100)))


def highlight(plot: str, pairs: list[list[Any]]) -> list[tuple[str, str | None]]:
    """Split `plot` into (text, css class or None) runs, marking each explained word by weight.

    Words are found in order in the original text so spacing and punctuation stay as typed.
    """
    peak = max((abs(float(w)) for _, w in pairs), default=0.0) or 1.0
    runs: list[tuple[str, str | None]] = []
    pos = 0
    for word, weight in pairs:
        at = plot.find(str(word), pos)
        if at < 0:
            continue
        if at > pos:
            runs.append((plot[pos:at], None))
        # Five intensity steps relative to the strongest word; under a tenth of it stays plain.
        level = min(5, round(abs(float(weight)) / peak * 5))
        css = None if level == 0 else f"{'pos' if weight > 0 else 'neg'}-{level}"
        runs.append((plot[at : at + len(word)], css))
        pos = at + len(word)
    if pos < len(plot):
        runs.append((plot[pos:], None))
    return runs


def language_label(language: dict[str, Any] | None) -> str:
    """How the page names a plot's language: "French (fr, 98%)"; "none recognised" for text in
    no language (the same words as the page's script writes)."""
    if not language:
        return ""
    code, share = language["code"], f"{round(language['confidence'] * 100)}%"
    if code == "zxx":
        return "none recognised"
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code}, {share})" if name else f"{code} ({share})"


def _rows(result: Prediction) -> list[dict[str, Any]]:
    scores, thresholds = result.scores, result.thresholds
    order = sorted(scores, key=lambda g: -scores[g])
    chosen = set(result.genres)
    return [
        {
            "genre": g,
            "score": scores[g],
            "pct": percent(scores[g]),
            "threshold": thresholds[g],
            "tpct": percent(thresholds[g]),
            "chosen": g in chosen,
        }
        for g in order
    ]


def _read_movie(reads_posters: bool) -> tuple[Movie | None, bool, str | None]:
    """The posted movie (its poster decoded, dropped for a model that reads none), whether it
    asks for an explanation, and the error the page shows instead (None when all is well)."""
    try:
        parsed = read_predict_request(page=True)
    except BadPredictRequest as exc:
        plot = request.form.get("plot", "")
        if NON_BLANK.search(plot) or request.files.get("poster"):
            return None, False, exc.problem
        return (
            None,
            False,
            (
                "Type a plot summary or choose a poster first."
                if reads_posters
                else "Type or paste a plot summary first."
            ),
        )
    movie = parsed.movies[0]
    if movie.poster is not None and not reads_posters:
        if movie.plot is None:
            return None, False, "Type or paste a plot summary first."
        movie = Movie(movie.plot)  # this model reads no poster: the plot alone is answered
    if movie.poster is not None:
        try:
            movie = Movie(movie.plot, read_poster(movie.poster))
        except PosterError as exc:
            if exc.status == 503:  # busy: the error page, with Retry-After
                raise poster_http_error(exc) from None
            return None, False, f"The poster cannot be used: {exc}"
    return movie, parsed.explain, None


@web.route("/", methods=["GET", "POST"])
def index() -> tuple[str, int]:
    svc = current_service()
    plot, error, result, rows, explanation = "", None, None, [], None
    explain, explain_info = False, {}
    reads_posters = "poster" in svc.model.inputs
    movie = None
    if request.method == "POST":
        plot = request.form.get("plot", "")
        movie, explain, error = _read_movie(reads_posters)
    elif request.args.get("example", "").isdigit():
        index = int(request.args["example"])
        if 0 <= index < len(EXAMPLES):
            plot = EXAMPLES[index][1]
            movie = Movie(plot)
    if movie is not None:
        answer = svc.answer([movie])[0]
        result, rows = answer.to_dict(), _rows(answer)
        if explain and movie.plot is not None:
            try:
                pairs, explain_info = svc.explain(plot)
            except ImportError:
                error = "Explanations are not available in this installation."
            else:
                explanation = [
                    {"genre": g, "runs": highlight(plot, pairs.get(g, []))} for g in answer.genres
                ]
    status = 400 if error and request.method == "POST" and not result else 200
    page = render_template(
        "index.html",
        plot=plot,
        explain=explain,
        examples=EXAMPLES,
        error=error,
        result=result,
        rows=rows,
        explanation=explanation,
        explain_info=explain_info,
        model=svc.summary,
        labels=svc.model.labels,
        calibrated=svc.model.answer_calibrator is not None,
        reads_posters=reads_posters,
        language_label=language_label(result.get("language") if result else None),
    )
    return page, status
