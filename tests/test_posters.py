"""Poster and fusion models: what each input gives, the Python API, bundles, the feature cache."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from poster_fixture import poster_image

import moviegenre
from moviegenre.bundle import load_bundle
from moviegenre.errors import MovieGenreError
from moviegenre.images.cache import FeatureCache
from moviegenre.images.features import PosterEncoder


def poster_bytes(genres, fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    poster_image(genres, np.random.default_rng(5)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fusion(poster_world):
    model = load_bundle(poster_world.fusion)
    # On the tiny corpus the text model is nearly perfect and training may keep a weight of 0;
    # the mechanics are checked with a weight the poster shows through.
    model.poster_weight = 0.3
    return model


@pytest.fixture(scope="module")
def text(tfidf_bundle):
    return load_bundle(tfidf_bundle)


def test_poster_model_reads_the_colour_of_each_genre(poster_world):
    model = load_bundle(poster_world.poster)
    assert model.model_type == "poster" and model.inputs == ("poster",)
    for genre in ("Horror", "Comedy", "Science Fiction"):
        probs = model.predict_proba([None], posters=[poster_bytes([genre])])
        assert model.labels[int(np.argmax(probs[0]))] == genre
    with pytest.raises(MovieGenreError, match="posters only"):
        model.predict_proba(["a plot"])


def test_poster_model_is_calibrated_without_changing_its_decisions(poster_world, tmp_path):
    from moviegenre.data.poster_index import read_poster_index
    from moviegenre.thresholds import decide
    from moviegenre.training.poster_models import train_poster

    manifest = json.loads((poster_world.poster / "bundle.json").read_text())
    assert manifest["calibration"]["method"] == "beta"
    test = manifest["metrics"]["test_movielens"]
    assert 0 <= test["ece"] <= 1 and 0 <= test["ece_uncalibrated"] <= 1
    calibrated = load_bundle(poster_world.poster)
    raw = load_bundle(
        train_poster(poster_world.index, tmp_path / "raw", cache_dir=poster_world.cache,
                     network=poster_world.network, calibration=None, progress=False).path
    )  # fmt: skip
    assert calibrated.calibrator is not None and raw.calibrator is None
    assert json.loads((tmp_path / "raw" / "bundle.json").read_text())["calibration"] is None
    paths = [r.path for r in read_poster_index(poster_world.index)]
    features = calibrated.features(paths)
    p_cal, p_raw = calibrated.proba_from_features(features), raw.proba_from_features(features)
    assert not np.allclose(p_cal, p_raw, atol=1e-3)  # the calibrator does move the scores
    # every per-genre decision is the same, on training, valid and test posters alike
    assert (p_cal >= calibrated.thresholds).sum() > 0
    np.testing.assert_array_equal(
        decide(p_cal, calibrated.thresholds, 0), decide(p_raw, raw.thresholds, 0)
    )


def test_fusion_answers_from_whatever_it_is_given(fusion, text):
    plot = "A haunted house and a demon make them scream."
    alone = moviegenre.predict(plot, fusion)
    reference = moviegenre.predict(plot, text)
    assert alone.inputs == ("plot",)
    assert alone.scores == reference.scores and alone.genres == reference.genres
    poster = poster_bytes(["Comedy"])
    from_poster = moviegenre.predict(model=fusion, poster=poster)
    assert from_poster.inputs == ("poster",) and from_poster.truncated is False
    assert from_poster.genres[0] == "Comedy"
    both = moviegenre.predict(plot, fusion, poster=poster)
    assert both.inputs == ("plot", "poster")
    w = fusion.poster_weight
    expected = (1 - w) * reference.scores["Comedy"] + w * from_poster.scores["Comedy"]
    assert both.scores["Comedy"] == pytest.approx(expected, abs=2e-4)
    assert both.to_dict()["inputs"] == ["plot", "poster"]


def test_fusion_keeps_the_python_api_shape_and_takes_posters(fusion, text, poster_world):
    plots = ["Aliens land their spaceship on a planet.", "A wacky prank makes laughs."]
    probs = fusion.predict_proba(plots)
    assert probs.shape == (2, len(fusion.labels)) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, text.predict_proba(plots), atol=1e-6)
    image = next(poster_world.images.glob("c*.jpg"))
    with_posters = fusion.predict_proba(plots, posters=[None, image])
    np.testing.assert_allclose(with_posters[0], probs[0], atol=1e-6)
    assert not np.allclose(with_posters[1], probs[1])
    answers = moviegenre.predict([plots[0], None], fusion, posters=[None, str(image)])
    assert [a.inputs for a in answers] == [("plot",), ("poster",)]
    picture = np.asarray(Image.open(image).convert("RGB"))
    assert moviegenre.predict(model=fusion, poster=picture).inputs == ("poster",)
    with pytest.raises(MovieGenreError, match="plot, a poster"):
        moviegenre.predict(None, fusion)
    with pytest.raises(MovieGenreError, match="2 plots but 1 posters"):
        moviegenre.predict(plots, fusion, posters=[image])


def test_a_text_model_refuses_posters_rather_than_ignore_them(text):
    assert moviegenre.predict("A ghost story.", text).inputs == ("plot",)
    with pytest.raises(MovieGenreError, match="plots only"):
        moviegenre.predict("A ghost story.", text, poster=poster_bytes(["Horror"]))
    with pytest.raises(MovieGenreError, match="plots only"):
        moviegenre.predict(model=text, poster=poster_bytes(["Horror"]))


def test_each_input_has_its_own_thresholds(fusion, text):
    np.testing.assert_array_equal(fusion.thresholds, text.thresholds)
    np.testing.assert_array_equal(fusion.thresholds_for(("plot",)), text.thresholds)
    poster_member = fusion.poster
    np.testing.assert_array_equal(fusion.thresholds_for(("poster",)), poster_member.thresholds)
    both = fusion.thresholds_for(("plot", "poster"))
    assert both.shape == text.thresholds.shape


def test_fusion_bundle_records_its_choice_and_loads_without_pickles(poster_world):
    manifest = json.loads((poster_world.fusion / "bundle.json").read_text())
    config = manifest["config"]
    assert manifest["model_type"] == "fusion"
    assert 0 <= config["poster_weight"] <= 0.5
    assert [row["poster_weight"] for row in config["weight_search"]][:2] == [0.0, 0.05]
    assert set(config["thresholds"]) == {"plot", "poster", "plot+poster"}
    assert set(manifest["metrics"]["posters_test"]) == {"plot", "poster", "plot+poster"}
    files = manifest["files"]
    assert "members/1/network.onnx" in files and "members/0/bundle.json" in files
    assert [m["model_type"] for m in config["members"]] == ["tfidf", "poster"]
    assert not any(name.endswith((".pkl", ".pt", ".pth", ".joblib")) for name in files)


def test_the_image_network_is_loaded_only_when_a_poster_comes(poster_world):
    model = load_bundle(poster_world.fusion)
    model.predict_proba(["A love story with a wedding kiss."])
    assert model.poster.encoder._session is None
    model.predict_proba([None], posters=[poster_bytes(["Romance"])])
    assert model.poster.encoder._session is not None


def test_broken_poster_is_a_one_line_error(fusion):
    with pytest.raises(MovieGenreError, match="not an image") as info:
        moviegenre.predict("A plot.", fusion, poster=b"not an image at all")
    assert "\n" not in str(info.value)


def test_feature_cache_reuses_features_between_runs(poster_world, tmp_path, monkeypatch):
    paths = sorted(poster_world.images.glob("m*.png"))[:5]
    encoder = PosterEncoder(poster_world.network)
    first, errors = FeatureCache(tmp_path, encoder).features(paths, progress=False)
    assert not errors and first.shape == (5, 1280) and np.abs(first).sum() > 0
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")

    def fail(pictures):
        raise AssertionError("the cache should have answered")

    again = FeatureCache(tmp_path, encoder)  # a new run: read back from disk
    monkeypatch.setattr(encoder, "encode", fail)
    second, errors = again.features([*paths, broken], progress=False)
    np.testing.assert_array_equal(second[:5], first)
    assert list(errors) == [5] and "corrupt" in errors[5] or "not an image" in errors[5]


def test_cli_predicts_from_a_poster_with_or_without_a_plot(poster_world, tmp_path, capsys):
    from moviegenre.cli.main import main

    path = tmp_path / "poster.png"
    path.write_bytes(poster_bytes(["Comedy"], "PNG"))
    assert main(["predict", "--model", str(poster_world.fusion), "--poster", str(path),
                 "--json"]) == 0  # fmt: skip
    answer = json.loads(capsys.readouterr().out)
    assert answer["inputs"] == ["poster"] and answer["genres"][0] == "Comedy"
    assert main(["predict", "--model", str(poster_world.fusion), "--poster", str(path),
                 "A ghost story."]) == 0  # fmt: skip
    assert "from: plot + poster" in capsys.readouterr().out
    broken = tmp_path / "broken.webp"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 broken")
    assert main(["predict", "--model", str(poster_world.fusion), "--poster", str(broken)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("moviegenre: error:") and "\n" not in message


@pytest.mark.parametrize("workers", [1, 2])
def test_catalogue_with_a_poster_column(poster_world, tmp_path, capsys, workers):
    from moviegenre.cli.main import main

    folder = tmp_path / "catalogue"
    (folder / "art").mkdir(parents=True)
    (folder / "art" / "good.jpg").write_bytes(poster_bytes(["Horror"]))
    (folder / "art" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    rows = [
        ("1", "A demon haunts them.", "art/good.jpg"),
        ("2", "", "art/good.jpg"),
        ("3", "A wacky prank.", "art/missing.jpg"),
        ("4", "A wacky prank.", "art/bad.jpg"),
        ("5", "Aliens in a spaceship.", ""),
        ("6", "", ""),
    ]
    lines = ["id,plot,poster", *(",".join(row) for row in rows)]
    (folder / "movies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = main(["predict", "--model", str(poster_world.fusion), "--input",
                 str(folder / "movies.csv"), "--poster-column", "poster", "--output", str(out),
                 "--quiet", "--workers", str(workers)])  # fmt: skip
    assert code == 0
    answers = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["id"] for a in answers] == ["1", "2", "3", "4", "5", "6"]
    assert answers[0]["inputs"] == ["plot", "poster"]
    assert answers[1]["inputs"] == ["poster"] and answers[1]["genres"][0] == "Horror"
    assert "no such poster file" in answers[2]["error"]
    assert "corrupt" in answers[3]["error"] or "not an image" in answers[3]["error"]
    assert answers[4]["inputs"] == ["plot"]
    assert answers[5]["error"] == "empty plot"
    summary = capsys.readouterr().err
    assert "3 predicted" in summary and "2 with a missing or broken poster" in summary


def test_poster_column_needs_a_model_that_reads_posters(tfidf_bundle, tmp_path, capsys):
    from moviegenre.cli.main import main

    source = tmp_path / "movies.csv"
    source.write_text("plot,poster\nA ghost.,x.jpg\n", encoding="utf-8")
    code = main(["predict", "--model", str(tfidf_bundle), "--input", str(source),
                 "--poster-column", "poster", "--output", str(tmp_path / "o.jsonl")])  # fmt: skip
    assert code == 2 and "reads plots only" in capsys.readouterr().err


def test_the_fusion_stores_its_text_models_words_once(poster_world) -> None:
    from moviegenre.bundle import load_bundle

    assert not (poster_world.fusion / "known_words.json").exists()
    assert (poster_world.fusion / "members" / "0" / "known_words.json").exists()
    fusion = load_bundle(poster_world.fusion)
    assert fusion.input_checker is fusion.members[0].input_checker  # read once, from the member
    assert fusion.input_checker.check("zzqx vbnm wxyz", None).warnings  # unknown words noticed


def test_a_recorded_command_carries_no_path_of_the_build_machine(tmp_path, monkeypatch) -> None:
    from moviegenre.training.build import recorded_command

    monkeypatch.chdir(tmp_path)
    argv = ["train", "--cache-dir", "/srv/cache/posters", "--out", str(tmp_path / "runs" / "b"),
            "--model-option", "text=/home/me/text", "--data", "data.csv"]  # fmt: skip
    assert recorded_command(argv) == (
        "moviegenre train --cache-dir OUTSIDE/posters --out runs/b --model-option "
        "text=OUTSIDE/text --data data.csv"
    )


def test_train_is_one_road_for_poster_and_fusion_models(poster_world, tfidf_bundle, tiny_corpus,
                                                        tmp_path, capsys) -> None:  # fmt: skip
    """`moviegenre train` takes poster and fusion models through the same call as text models,
    and prints the same summary: the bundle, the seconds and the headline of each split."""
    from moviegenre.cli.main import main

    common = ["--cache-dir", str(poster_world.cache)]
    assert main(["train", "--model-type", "poster", "--data", str(poster_world.index),
                 "--out", str(tmp_path / "poster"), "--model-option",
                 f"network={poster_world.network}", *common]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"bundle", "seconds", "metrics"}
    assert "test_movielens" in printed["metrics"]
    for metrics in printed["metrics"].values():
        assert "per_genre" not in metrics and "per_genre_ece" not in metrics
    manifest = json.loads((tmp_path / "poster" / "bundle.json").read_text())
    assert manifest["metrics"] == printed["metrics"]  # one headline, printed and stored
    assert main(["train", "--model-type", "fusion", "--data", str(tiny_corpus), "--posters",
                 str(poster_world.index), "--out", str(tmp_path / "fusion"),
                 "--model-option", f"text={tfidf_bundle}",
                 "--model-option", f"poster={tmp_path / 'poster'}", *common]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["metrics"]) == {"plot", "poster", "plot+poster"}
    assert load_bundle(tmp_path / "fusion").kind == "fusion"
    assert main(["train", "--model-type", "poster", "--data", str(poster_world.index),
                 "--out", str(tmp_path / "x"), "--model-option", "epochs=3"]) == 2  # fmt: skip
    assert "poster model options are" in capsys.readouterr().err
    assert main(["train", "--model-type", "fusion", "--data", str(tiny_corpus),
                 "--out", str(tmp_path / "y")]) == 2  # fmt: skip
    assert "fusion needs --posters INDEX" in capsys.readouterr().err
