"""The generated MODEL_CARD.md: what a bundle is, how it was trained and how well it does."""

from __future__ import annotations

import json
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def calibration_summary(manifest: dict[str, Any]) -> str:
    """One sentence: how the bundle's probabilities are calibrated and their ECE on test."""
    calibration = manifest.get("calibration") or {}
    test = (manifest.get("metrics") or {}).get("test") or {}
    if not calibration and (manifest.get("config") or {}).get("members"):
        # a fusion passes its members' answers through: they carry their own calibration maps
        text = (
            "This bundle adds no calibration map of its own: each member's probabilities are "
            "calibrated (or not) in its own bundle, see members/*/MODEL_CARD.md."
        )
    elif not calibration:
        text = "Scores are the model's own, not calibrated (trained with --calibration none)."
    else:
        text = (
            "Probabilities are calibrated per genre on the validation split "
            f"({calibration['method']} method, see docs/calibration.md); thresholds were mapped "
            "through the same strictly increasing maps, so each genre's decisions are those of "
            "the raw scores."
        )
    if isinstance(test.get("ece"), float):
        text += f" Expected calibration error on the test split: {test['ece']:.4f}"
        if isinstance(test.get("ece_uncalibrated"), float):
            text += f" (uncalibrated: {test['ece_uncalibrated']:.4f})"
        text += "."
    return text


def render_model_card(manifest: dict[str, Any]) -> str:
    """Markdown describing a bundle, from its manifest."""
    lines = [
        f"# moviegenre model: {manifest['model_type']}",
        "",
        "Predicts which of the genres below a movie belongs to from its plot summary "
        "(multi-label: one independent probability per genre, one tuned threshold per genre).",
        "",
        f"- Format: {manifest['format']} v{manifest['format_version']}, "
        f"written by moviegenre {manifest['moviegenre_version']} on {manifest['created']}",
        f"- Genres ({len(manifest['labels'])}): {_listed(manifest['labels'])}",
        f"- At least {manifest['min_genres']} genre(s) always returned",
    ]
    counts = manifest.get("label_counts") or {}
    if counts.get("train"):
        vocabulary = (manifest.get("label_vocabulary") or {}).get("vocabulary", "tmdb")
        lines += ["", "## Labels", "", f"Label vocabulary: `{vocabulary}` (docs/labels.md).", ""]
        lines += ["| label | training movies | movies in the file |", "| --- | ---: | ---: |"]
        lines += [
            f"| {_cell(label)} | {n} | {counts.get('all', {}).get(label, '')} |"
            for label, n in counts["train"].items()
        ]
    training = manifest.get("training") or {}
    if training:
        lines += ["", "## Training", ""]
        lines += [f"- {key}: `{_fmt(value)}`" for key, value in training.items()]
    if manifest.get("fingerprint"):
        lines += ["", f"Training data fingerprint (SHA-256): `{manifest['fingerprint']}`"]
    metrics = manifest.get("metrics") or {}
    for split_name, values in metrics.items():
        if not isinstance(values, dict):
            continue
        lines += [
            "",
            f"## Metrics on the {split_name} split",
            "",
            "| metric | value |",
            "| --- | --- |",
        ]
        lines += [
            f"| {key} | {_fmt(value)} |"
            for key, value in values.items()
            if isinstance(value, (int, float))
        ]
    lines += ["", "## Calibration", "", calibration_summary(manifest)]
    lines += [
        "",
        "## Thresholds",
        "",
        "| genre | threshold |",
        "| --- | --- |",
        *[
            f"| {g} | {t:.2f} |"
            for g, t in zip(manifest["labels"], manifest["thresholds"], strict=True)
        ],
        "",
        "## Limits",
        "",
        _limits(manifest),
        "",
    ]
    return "\n".join(lines)


def _listed(labels: list[str]) -> str:
    """Labels in a line: separated by "; " when one of them holds a comma."""
    return ("; " if any("," in label for label in labels) else ", ").join(labels)


def _cell(text: str) -> str:
    """A label as a Markdown table cell (a "|" inside would end the cell)."""
    return text.replace("|", "\\|")


def _limits(manifest: dict[str, Any]) -> str:
    vocabulary = (manifest.get("label_vocabulary") or {}).get("vocabulary", "tmdb")
    if vocabulary != "tmdb":
        data = (manifest.get("training") or {}).get("data", "its training file")
        return (
            f"Trained on {data} with that catalogue's own labels; plots unlike its descriptions "
            "will score lower, and labels with few training movies are the least reliable."
        )
    return (
        "Trained on TMDB overviews of mostly English-language feature films; plots of other kinds "
        "(TV episodes, very short loglines, other languages) will score lower. Genres are TMDB's, "
        "which are coarse and sometimes disputed."
    )
