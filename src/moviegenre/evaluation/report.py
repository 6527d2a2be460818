"""The self-contained HTML evaluation report: headline table, per-genre F1 and PR-curve charts."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

from moviegenre.errors import optional_import
from moviegenre.evaluation.metrics import AVERAGE_NOTES, CALIBRATION_NOTES

# Headline rows: (label shown, metric key, which average it is).
HEADLINE_ROWS = (
    ("Micro F1", "micro_f1", AVERAGE_NOTES["micro"]),
    ("Micro F1, 95% interval", "micro_f1_ci", AVERAGE_NOTES["micro_f1_ci"]),
    ("Macro F1", "macro_f1", AVERAGE_NOTES["macro"]),
    ("Weighted F1", "weighted_f1", AVERAGE_NOTES["weighted"]),
    ("Samples F1", "samples_f1", AVERAGE_NOTES["samples"]),
    ("Micro precision", "micro_precision", AVERAGE_NOTES["micro"]),
    ("Micro recall", "micro_recall", AVERAGE_NOTES["micro"]),
    ("Macro precision", "macro_precision", AVERAGE_NOTES["macro"]),
    ("Macro recall", "macro_recall", AVERAGE_NOTES["macro"]),
    ("Subset accuracy", "subset_accuracy", AVERAGE_NOTES["subset_accuracy"]),
    ("Hamming loss", "hamming_loss", AVERAGE_NOTES["hamming_loss"]),
    ("Expected calibration error", "ece", CALIBRATION_NOTES["ece"]),
    ("Brier score", "brier", CALIBRATION_NOTES["brier"]),
    ("Log loss", "log_loss", CALIBRATION_NOTES["log_loss"]),
)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1f2328; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .92rem; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #e5e7eb; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #57606a; font-size: .92rem; }
.note { color: #57606a; font-size: .85rem; }
img { max-width: 100%; height: auto; }
"""


def _png(figure: Any) -> str:
    """A matplotlib figure as a base64 PNG data URI (so the report is one file)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def load_pyplot() -> Any:
    """pyplot on the file-only backend, or a one-line install hint (the report extra)."""
    matplotlib = optional_import("matplotlib", "report", "the HTML report")
    matplotlib.use("Agg")  # no display: the report is rendered to files, also on servers
    import matplotlib.pyplot as plt

    return plt


def f1_bar_chart(per_genre: dict[str, dict[str, Any]]) -> Any:
    """Horizontal bars of each genre's F1 (best on top), precision and recall ticks, support."""
    plt = load_pyplot()
    rows = sorted(per_genre.items(), key=lambda item: item[1]["f1"])
    names = [name for name, _ in rows]
    figure, axis = plt.subplots(figsize=(8.5, 0.34 * len(rows) + 1.2))
    positions = range(len(rows))
    axis.barh(positions, [m["f1"] for _, m in rows], color="#4c78a8", height=0.65, label="F1")
    axis.scatter([m["precision"] for _, m in rows], positions, marker="|", s=120, color="#e45756",
                 label="precision", zorder=3)  # fmt: skip
    axis.scatter([m["recall"] for _, m in rows], positions, marker="|", s=120, color="#54a24b",
                 label="recall", zorder=3)  # fmt: skip
    axis.set_yticks(list(positions))
    axis.set_yticklabels(
        [f"{n}  (n={m['support']})" for n, (_, m) in zip(names, rows, strict=True)]
    )
    for y, (_, m) in enumerate(rows):
        # The value sits at the start of its bar, clear of the precision/recall ticks near its end.
        inside = m["f1"] > 0.08
        axis.text(0.01 if inside else m["f1"] + 0.01, y, f"{m['f1']:.2f}", va="center",
                  ha="left", fontsize=8, fontweight="bold",
                  color="white" if inside else "#1f2328")  # fmt: skip
    axis.set_xlim(0, 1.02)
    axis.set_xlabel("per-genre score at the tuned threshold")
    axis.set_title("F1 by genre (n = movies with the genre)", fontsize=11, pad=24)
    axis.grid(axis="x", color="#e5e7eb")
    axis.set_axisbelow(True)
    axis.spines[["top", "right"]].set_visible(False)
    # Legend between the title and the top bar, so it never covers a bar.
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def pr_curve_grid(curves: dict[str, dict[str, Any]], columns: int = 4) -> Any:
    """Small multiples: each genre's precision-recall curve, its tuned threshold marked."""
    plt = load_pyplot()
    names = sorted(curves, key=lambda n: -curves[n]["support"])
    rows = max(1, math.ceil(len(names) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.35 * rows),
                                sharex=True, sharey=True, squeeze=False)  # fmt: skip
    for index, axis in enumerate(axes.flat):
        if index >= len(names):
            axis.set_visible(False)
            continue
        name = names[index]
        curve = curves[name]
        axis.plot(curve["recall"], curve["precision"], color="#4c78a8", linewidth=1.3,
                  drawstyle="steps-post")  # fmt: skip
        if "threshold" in curve:
            axis.plot(curve["operating_recall"], curve["operating_precision"], "o",
                      color="#e45756", markersize=5, zorder=3)  # fmt: skip
            # Label on the side with room, so it is not clipped at recall 1.
            right = curve["operating_recall"] < 0.7
            axis.annotate(f"t={curve['threshold']:.2f}",
                          (curve["operating_recall"], curve["operating_precision"]),
                          textcoords="offset points", xytext=(5 if right else -5, 5),
                          ha="left" if right else "right", fontsize=7, color="#c0392b",
                          bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                "alpha": 0.85})  # fmt: skip
        axis.set_title(f"{name}\nAP {curve['average_precision']:.2f}, n={curve['support']}",
                       fontsize=8.5)  # fmt: skip
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1.05)
        axis.grid(color="#eeeeee", linewidth=0.6)
        axis.tick_params(labelsize=7)
    for column in range(columns):
        # The lowest visible panel of each column carries the x axis (the grid may be ragged).
        shown = [axis for axis in axes[:, column] if axis.get_visible()]
        if shown:
            shown[-1].set_xlabel("recall", fontsize=8)
            shown[-1].tick_params(labelbottom=True)
    for axis in axes[:, 0]:
        axis.set_ylabel("precision", fontsize=8)
    figure.suptitle("Precision-recall by genre (dot: the tuned threshold's operating point)",
                    fontsize=10.5)  # fmt: skip
    figure.tight_layout()
    return figure


def reliability_diagram(reliability: dict[str, list[dict[str, Any]]]) -> Any:
    """Observed positive rate against mean probability per bin, one line per set of scores
    ("uncalibrated", "calibrated"), the diagonal for perfect calibration, and bin sizes below."""
    plt = load_pyplot()
    figure, (axis, counts) = plt.subplots(
        2, 1, figsize=(6.2, 6.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    axis.plot([0, 1], [0, 1], color="#9ca3af", linestyle="--", linewidth=1, label="perfect")
    colours = {"uncalibrated": "#e45756", "calibrated": "#4c78a8"}
    width = 0.9 / (10 * max(1, len(reliability)))
    for index, (name, table) in enumerate(reliability.items()):
        rows = [row for row in table if row["count"]]
        colour = colours.get(name, "#54a24b")
        axis.plot([r["mean_probability"] for r in rows], [r["observed_rate"] for r in rows],
                  marker="o", color=colour, linewidth=1.5, label=name)  # fmt: skip
        centres = [(r["low"] + r["high"]) / 2 + (index - 0.5) * width for r in table]
        counts.bar(centres, [r["count"] for r in table], width=width, color=colour)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_ylabel("observed share of positives")
    axis.set_title("Reliability: every (movie, genre) score in 10 equal-width bins", fontsize=10.5)
    axis.grid(color="#eeeeee", linewidth=0.6)
    axis.legend(loc="upper left", fontsize=8, frameon=False)
    counts.set_yscale("log")
    counts.set_xlabel("predicted probability (bin mean)")
    counts.set_ylabel("scores per bin", fontsize=8)
    counts.tick_params(labelsize=7)
    figure.tight_layout()
    return figure


def _fmt(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]:.3f} – {value[1]:.3f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def render_report(
    metrics: dict[str, Any],
    curves: dict[str, dict[str, Any]],
    *,
    model: str,
    data: str,
    split: str,
) -> str:
    """The report as one HTML string, images embedded as base64 PNG."""
    headline = "\n".join(
        f"<tr><td>{html.escape(name)}</td><td class='num'>{_fmt(metrics[key])}</td>"
        f"<td class='note'>{html.escape(note)}</td></tr>"
        for name, key, note in HEADLINE_ROWS
        if key in metrics
    )
    per_genre = metrics["per_genre"]
    ece_cells = metrics.get("per_genre_ece") or {}
    genre_rows = "\n".join(
        f"<tr><td>{html.escape(name)}</td><td class='num'>{m['support']}</td>"
        f"<td class='num'>{m['precision']:.3f}</td><td class='num'>{m['recall']:.3f}</td>"
        f"<td class='num'>{m['f1']:.3f}</td>"
        f"<td class='num'>{_fmt(curves.get(name, {}).get('threshold', ''))}</td>"
        f"<td class='num'>{_fmt(curves.get(name, {}).get('average_precision', ''))}</td>"
        f"<td class='num'>{_fmt(ece_cells.get(name, ''))}</td></tr>"
        for name, m in sorted(per_genre.items(), key=lambda item: -item[1]["support"])
    )
    bars = _png(f1_bar_chart(per_genre))
    pr = (
        f"<img alt='precision-recall curves by genre' src='{_png(pr_curve_grid(curves))}'>"
        if curves
        else ("<p class='note'>No genre has a positive movie in this split: no curve to draw.</p>")
    )
    reliability = metrics.get("reliability") or {}
    diagram = (
        f"<img alt='reliability diagram' src='{_png(reliability_diagram(reliability))}'>"
        if reliability
        else ""
    )
    before = metrics.get("uncalibrated") or {}
    compared = (
        f"<p class='note'>Before calibration: ECE {before['ece']:.4f}, Brier score "
        f"{before['brier']:.4f}, log loss {before['log_loss']:.4f}.</p>"
        if before
        else "<p class='note'>This model's scores are not calibrated.</p>"
    )
    unknown = metrics.get("unknown_genres") or {}
    ignored = (
        "<br>Genres the model does not know, ignored: "
        + html.escape(", ".join(f"{g} ({n})" for g, n in unknown.items()))
        if unknown
        else ""
    )
    title = f"Genre model evaluation: {split} split"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="meta">Model: <code>{html.escape(model)}</code><br>Data: <code>{html.escape(data)}</code>,
split <code>{html.escape(split)}</code>, {metrics["rows"]} movies{ignored}</p>
<h2>Headline metrics</h2>
<table><thead><tr><th>metric</th><th class="num">value</th><th>which average</th></tr></thead>
<tbody>{headline}</tbody></table>
<p class="note">Decisions use the model's per-genre thresholds (tuned on the validation split) and
its at-least-one-genre rule. Precision-recall curves and average precision (AP) use the raw
probabilities.</p>
<h2>F1 by genre</h2>
<img alt="F1 by genre" src="{bars}">
<h2>Precision-recall curves</h2>
{pr}
<h2>Calibration</h2>
<p class="note">How often a genre given probability p is right: points on the diagonal mean the
probabilities can be read as chances. Calibration maps are fitted per genre on the validation
split.</p>
{diagram}
{compared}
<h2>Per-genre table</h2>
<table><thead><tr><th>genre</th><th class="num">support</th><th class="num">precision</th>
<th class="num">recall</th><th class="num">F1</th><th class="num">threshold</th>
<th class="num">AP</th><th class="num">ECE</th></tr></thead>
<tbody>{genre_rows}</tbody></table>
</body></html>
"""
