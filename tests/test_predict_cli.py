"""`moviegenre predict`: one plot, and whole files (any format the data readers read) streamed."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from moviegenre.api import load_model, predict
from moviegenre.cli.main import main
from moviegenre.models.base import Predictor

ROWS = [
    {"id": "m1", "title": "Night Ghosts", "plot": "A haunted house, a ghost and blood everywhere."},
    {"id": "m2", "title": "Wedding Bells", "plot": "Love, a kiss and a wedding.\nThen romance."},
    {"id": "m3", "title": "Empty", "plot": ""},
    {"id": "m4", "title": "Café Ünïcode", "plot": "An alien robot fights on a distant planet."},
    {"id": "m5", "title": "Laughs", "plot": "A wacky prank makes the whole town laugh."},
]


def _write(path: Path, rows: list[dict], text_key: str = "plot") -> Path:
    rows = [{("Overview" if k == "plot" else k) if text_key != "plot" else k: v
             for k, v in r.items()} for r in rows]  # fmt: skip
    if path.suffix in (".csv", ".tsv"):
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=list(rows[0]), delimiter="\t" if path.suffix == ".tsv" else ","
            )
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)
    return path


def _read_output(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.split("\n")[:-1]]


def test_single_plot_readable_and_json(tfidf_bundle: Path, capsys: pytest.CaptureFixture) -> None:
    plot = "A ghost haunts a family; blood and screams in the haunted house."
    assert main(["predict", "--model", str(tfidf_bundle), plot]) == 0
    out = capsys.readouterr().out
    expected = predict(plot, load_model(tfidf_bundle))
    assert out.splitlines()[0] == "genres: " + ", ".join(expected.genres)
    assert "Horror" in expected.genres
    assert main(["predict", "--model", str(tfidf_bundle), "--json", plot]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj == expected.to_dict()
    assert set(obj["scores"]) == set(load_model(tfidf_bundle).labels)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_input_file_one_line_per_row_in_order(
    tfidf_bundle: Path, tmp_path: Path, suffix: str
) -> None:
    source = _write(tmp_path / f"plots{suffix}", ROWS)
    out = tmp_path / "out.jsonl"
    code = main(["predict", "--model", str(tfidf_bundle), "--input", str(source),
                 "--output", str(out), "--batch-size", "2", "--quiet"])  # fmt: skip
    assert code == 0
    lines = _read_output(out)
    assert [line["id"] for line in lines] == [r["id"] for r in ROWS]
    assert [line["title"] for line in lines] == [r["title"] for r in ROWS]
    model = load_model(tfidf_bundle)
    for row, line in zip(ROWS, lines, strict=True):
        if not row["plot"]:
            assert line["genres"] == [] and "plot" in line["error"]
            continue
        assert "error" not in line
        assert line == {"id": row["id"], "title": row["title"],
                        **predict(row["plot"], model).to_dict()}  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's private mode


def test_text_column_detected_and_overridable(tfidf_bundle: Path, tmp_path: Path) -> None:
    source = _write(tmp_path / "plots.csv", ROWS, text_key="Overview")  # detected: Overview
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(tfidf_bundle), "--input", str(source),
                 "--output", str(out), "--quiet"]) == 0  # fmt: skip
    assert _read_output(out)[0]["genres"]
    # the title column holds text too: naming it is honoured
    assert main(["predict", "--model", str(tfidf_bundle), "--input", str(source), "--output",
                 str(out), "--text-column", "title", "--quiet"]) == 0  # fmt: skip
    model = load_model(tfidf_bundle)
    assert _read_output(out)[1]["scores"] == predict("Wedding Bells", model).scores


def test_workers_give_identical_output(tfidf_bundle: Path, tmp_path: Path) -> None:
    rows = [{**r, "id": f"{r['id']}-{i}"} for i in range(40) for r in ROWS]
    source = _write(tmp_path / "plots.jsonl", rows)
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        args = ["--input", str(source), "--output", str(out), "--workers", workers]
        assert main(["predict", "--model", str(tfidf_bundle), *args, "--batch-size", "7"]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == len(rows)


def test_onnx_bundle_with_workers(lstm_onnx_bundle: Path, tmp_path: Path) -> None:
    source = _write(tmp_path / "plots.parquet", ROWS * 10)
    out1, out2 = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out, workers in ((out1, "1"), (out2, "2")):
        assert main(["predict", "--model", str(lstm_onnx_bundle), "--input", str(source),
                     "--output", str(out), "--workers", workers, "--batch-size", "4",
                     "--quiet"]) == 0  # fmt: skip
    assert out1.read_bytes() == out2.read_bytes()
    assert len(_read_output(out1)) == 50


def test_failed_run_leaves_no_partial_output(
    tfidf_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviegenre.inference import batch

    source = _write(tmp_path / "plots.jsonl", ROWS * 20)
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    real, calls = batch.predict_lines, []

    def failing(model, rows, poster_root=None):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(model, rows, poster_root)

    monkeypatch.setattr(batch, "predict_lines", failing)
    with pytest.raises(RuntimeError):
        main(["predict", "--model", str(tfidf_bundle), "--input", str(source), "--output",
              str(out), "--batch-size", "5", "--quiet"])  # fmt: skip
    assert out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "plots.jsonl"]


def test_damaged_lines_skipped_and_counted_like_data_inspect(
    tfidf_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from moviegenre.data.summary import summarize

    source = tmp_path / "plots.jsonl"
    source.write_text(
        '{"id": 1, "plot": "a ghost"}\n{not json\n[1, 2]\n{"id": 4, "plot": ""}\n'
        '{"id": 5, "plot": "a wedding"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(tfidf_bundle), "--input", str(source),
                 "--output", str(out), "--quiet"]) == 0  # fmt: skip
    lines = _read_output(out)
    inspected = summarize(str(source))
    assert len(lines) == inspected["rows"] == 3
    assert [line["id"] for line in lines] == ["1", "4", "5"]
    assert ["error" in line for line in lines] == [False, True, False]
    assert lines[0]["genres"] and lines[1]["genres"] == [] and "plot" in lines[1]["error"]
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [
        f"wrote 3 lines to {out}: 2 predicted, 1 without a plot (an error line each), "
        "2 damaged rows skipped (1 invalid JSON, 1 line is not a JSON object)"
    ]
    assert inspected["skip_reasons"] == {"invalid JSON": 1, "line is not a JSON object": 1}


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.csv", "no such file"),
        ("id,genre\n1,Drama\n", "plots.csv", "no text column"),
        (b"PK\x03\x04" + bytes(range(256)) * 4, "plots.xlsx", "binary file"),
        ("", "plots.csv", "empty"),
    ],
)
def test_bad_input_is_a_one_line_error(
    tfidf_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
    content: str | bytes | None, name: str, message: str,
) -> None:  # fmt: skip
    source = tmp_path / name
    if content is not None:
        source.write_bytes(content.encode() if isinstance(content, str) else content)
    out = tmp_path / "out.jsonl"
    code = main(["predict", "--model", str(tfidf_bundle), "--input", str(source),
                 "--output", str(out), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err and name in err
    assert not out.exists()


def test_missing_text_column_named(tfidf_bundle: Path, tmp_path: Path, capsys) -> None:
    source = _write(tmp_path / "plots.csv", ROWS)
    code = main(["predict", "--model", str(tfidf_bundle), "--input", str(source), "--output",
                 str(tmp_path / "o.jsonl"), "--text-column", "synopsis"])  # fmt: skip
    assert code == 2 and "no text column named 'synopsis'" in capsys.readouterr().err


def test_usage_errors(tfidf_bundle: Path, tmp_path: Path, capsys) -> None:
    assert main(["predict", "--model", str(tfidf_bundle)]) == 2
    assert main(["predict", "--model", str(tfidf_bundle), "--input", "x.csv"]) == 2
    assert main(["predict", "--model", str(tfidf_bundle), "   "]) == 2
    assert main(["predict", "--model", str(tmp_path / "nope"), "a ghost story"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 4 and all(e.startswith("moviegenre: error: ") for e in errors)


def test_output_to_stdout(tfidf_bundle: Path, tmp_path: Path, capsys) -> None:
    source = _write(tmp_path / "plots.tsv", ROWS)
    args = ["--input", str(source), "--output", "-", "--quiet"]
    assert main(["predict", "--model", str(tfidf_bundle), *args]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in ROWS]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots.tsv"]


class _ConstantModel(Predictor):
    """Stands in for a model so the test measures the reader and writer alone."""

    def __init__(self) -> None:
        super().__init__(["Comedy", "Drama"])

    def predict_raw(self, plots):
        return np.full((len(plots), 2), 0.25, dtype=np.float32)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_memory_does_not_grow_with_the_file(tmp_path: Path, suffix: str) -> None:
    import tracemalloc

    from moviegenre.inference.batch import predict_file

    peaks = []
    for rows in (1_000, 10_000):
        plots = [{"id": str(i), "plot": f"plot number {i} " + "word " * 60} for i in range(rows)]
        source = _write(tmp_path / f"in{rows}{suffix}", plots)
        out = tmp_path / f"out{rows}.jsonl"
        tracemalloc.start()
        result = predict_file(source, out, model=_ConstantModel(), batch_size=256, progress=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert result.lines == result.predicted == rows and out.read_bytes().count(b"\n") == rows
    # 10x the rows, (nearly) the same peak: nothing is kept per row
    assert peaks[1] < 1.5 * peaks[0] + (1 << 20), peaks


def test_bounded_dispatch_waits_for_results() -> None:
    import threading

    from moviegenre.inference.batch import bounded

    slots = threading.Semaphore(2)
    pulled = []
    feeder = bounded(iter([[1], [2], [3], [4]]), slots)
    thread = threading.Thread(target=lambda: pulled.extend(feeder), daemon=True)
    thread.start()
    thread.join(0.3)
    assert pulled == [[1], [2]]  # blocked: nothing consumed yet
    slots.release()
    slots.release()
    thread.join(2)
    assert pulled == [[1], [2], [3], [4]]


def _predict_and_inspect(bundle: Path, source: Path, out: Path, capsys) -> tuple[list, dict, str]:
    """predict --input on `source` (quiet), the output lines, data inspect's counts, stderr."""
    from moviegenre.data.summary import summarize

    capsys.readouterr()
    assert main(["predict", "--model", str(bundle), "--input", str(source),
                 "--output", str(out), "--quiet"]) == 0  # fmt: skip
    err = capsys.readouterr().err.strip()
    return _read_output(out), summarize(str(source)), err


def test_gzipped_latin1_semicolon_file_read_like_data_inspect(
    tfidf_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import gzip

    # ; delimited, Latin-1, gzipped, with a shifted row (year column holds text), a row with too
    # many fields and one without a plot: the same reader stack as `train` and `data inspect`.
    text = (
        "Release_Date;Title;Overview;Genre\n"
        "2001-05-01;Café des fantômes;A haunted house, a ghost and blood everywhere.;Horror\n"
        "2003-02-02;Wedding Bells;Love, a kiss and a wedding.;Romance, Comedy\n"
        "not a date;Shifted;This row slid one column to the right;Drama\n"
        "2004-01-01;Empty;;Drama\n"
        "2005-01-01;Too many;a plot;Drama;extra;fields\n"
        "2006-03-03;Laughs;A wacky prank makes the whole town laugh.;Comedy\n"
    )
    source = tmp_path / "movies.csv.gz"
    source.write_bytes(gzip.compress(text.encode("latin-1")))
    lines, inspected, err = _predict_and_inspect(tfidf_bundle, source, tmp_path / "o.jsonl", capsys)
    assert inspected["format"] == "delimited" and inspected["skipped"] == 2
    assert len(lines) == inspected["rows"] == 4
    assert [line["title"] for line in lines] == [
        "Café des fantômes", "Wedding Bells", "Empty", "Laughs"
    ]  # fmt: skip
    assert [("error" in line) for line in lines] == [False, False, True, False]
    model = load_model(tfidf_bundle)
    expected = predict("A haunted house, a ghost and blood everywhere.", model).to_dict()
    assert {k: lines[0][k] for k in expected} == expected
    reasons = ", ".join(f"{n} {r}" for r, n in inspected["skip_reasons"].items())
    assert err == (
        f"wrote 4 lines to {tmp_path / 'o.jsonl'}: 3 predicted, 1 without a plot "
        f"(an error line each), 2 damaged rows skipped ({reasons})"
    )


def test_summary_printed_for_stdout_output(tfidf_bundle: Path, tmp_path: Path, capsys) -> None:
    source = _write(tmp_path / "plots.csv", ROWS)
    assert main(["predict", "--model", str(tfidf_bundle), "--input", str(source),
                 "--output", "-", "--quiet"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == len(ROWS)
    assert captured.err.strip() == (
        "wrote 5 lines to stdout: 4 predicted, 1 without a plot (an error line each), "
        "0 damaged rows skipped"
    )


@pytest.mark.parametrize("name", ["mymoviedb.csv", "tmdb_5000_movies.csv"])
def test_shared_raw_files_one_line_per_row_read(raw_dir: Path, tmp_path: Path, name: str) -> None:
    import gzip
    import shutil

    from moviegenre.data.summary import summarize
    from moviegenre.inference.batch import predict_file

    source = raw_dir / name
    if name == "tmdb_5000_movies.csv":  # the same file gzipped: read through the same stack
        gzipped = tmp_path / (name + ".gz")
        with open(source, "rb") as plain, gzip.open(gzipped, "wb") as packed:
            shutil.copyfileobj(plain, packed)
        source = gzipped
    out = tmp_path / "o.jsonl"
    # The reading is under test here, so a constant model keeps the test fast; the CLI path
    # with a real model is tested on the fixture files above.
    result = predict_file(source, out, model=_ConstantModel(), progress=False)
    lines = _read_output(out)
    inspected = summarize(str(source))
    assert len(lines) == result.lines == inspected["rows"]
    assert result.without_plot == inspected["without_plot"]
    assert sum("error" not in line for line in lines) == result.predicted
    assert all(line["scores"] for line in lines if "error" not in line)
    assert result.skip_reasons == inspected["skip_reasons"]
    summary = result.summary()
    assert f"{inspected['skipped']} damaged rows skipped" in summary
    assert all(f"{n} {reason}" in summary for reason, n in inspected["skip_reasons"].items())
    if name == "mymoviedb.csv":
        assert inspected["skipped"] == 213 and inspected["rows"] == 9634


@pytest.mark.parametrize(("workers", "keep"), [("1", 4000), ("1", 0.5), ("2", 0.5)])
def test_gzip_cut_short_is_a_one_line_error_and_no_output(
    tfidf_bundle: Path, tmp_path: Path, capsys, workers: str, keep: float
) -> None:
    import gzip

    rows = "".join(json.dumps({"id": i, "plot": f"a ghost story {i}"}) + "\n" for i in range(30000))
    packed = gzip.compress(rows.encode())
    # 4000 bytes: cut within the part read to detect the format; half: after many chunks
    # were predicted (and, with workers, handed out).
    source = tmp_path / "plots.jsonl.gz"
    source.write_bytes(packed[: int(keep if keep > 1 else keep * len(packed))])
    out = tmp_path / "out.jsonl"
    code = main(["predict", "--model", str(tfidf_bundle), "--input", str(source), "--output",
                 str(out), "--workers", workers, "--batch-size", "100", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"moviegenre: error: {source}: damaged gzip file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots.jsonl.gz"]


def test_row_estimate_for_the_progress_bar(tmp_path, monkeypatch):
    import gzip

    from moviegenre.inference import batch
    from moviegenre.inference.batch import estimate_rows

    lines = "".join(f'{{"plot": "plot number {i}"}}\n' for i in range(1000))
    (tmp_path / "a.jsonl").write_text(lines)
    assert estimate_rows(tmp_path / "a.jsonl") == 1000  # read whole: exact
    (tmp_path / "a.csv").write_text("plot\n" + "".join(f"plot number {i}\n" for i in range(999)))
    assert estimate_rows(tmp_path / "a.csv") == 999  # the header is not a row
    monkeypatch.setattr(batch, "ESTIMATE_SAMPLE", 2000)  # a sample, then scaled by the size
    assert abs(estimate_rows(tmp_path / "a.jsonl") - 1000) <= 50
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    assert estimate_rows(tmp_path / "a.jsonl.gz") is None
    assert estimate_rows("-") is None and estimate_rows(tmp_path) is None


def test_progress_bar_has_a_total_when_the_file_size_is_known(tmp_path, tfidf_bundle, capsys):
    from moviegenre.inference.batch import predict_file

    source = tmp_path / "plots.jsonl"
    source.write_text("".join(f'{{"plot": "A ghost haunts house {i}."}}\n' for i in range(40)))
    predict_file(source, tmp_path / "out.jsonl", tfidf_bundle, progress=True)
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "100%" in bar and "40/40" in bar
