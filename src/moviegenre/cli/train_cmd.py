"""`moviegenre train`: fit a model type on a data file and write a bundle."""

from __future__ import annotations

import argparse
import json
import os
import sys

from moviegenre.calibration import DEFAULT_METHOD, METHODS
from moviegenre.cli.options import (
    add_labels_flag,
    add_reader_flags,
    parse_key_value,
    reader_options,
)
from moviegenre.models import MODEL_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a model and write a bundle directory")
    parser.add_argument("--data", required=True, help="training data file (any supported format)")
    parser.add_argument(
        "--model-type", choices=sorted(MODEL_TYPES),
        help="default: lstm for TMDB's genres; for a file's own labels, the own-labels default "
        "(docs/labels.md)",
    )  # fmt: skip
    parser.add_argument("--out", required=True, help="bundle directory to write")
    parser.add_argument("--threshold-metric", choices=("f1", "mcc"), default="f1")
    parser.add_argument(
        "--calibration", choices=(*METHODS, "none"), default=DEFAULT_METHOD,
        help=f"how genre scores become probabilities, fitted on valid (default: {DEFAULT_METHOD}; "
        "see docs/calibration.md)",
    )  # fmt: skip
    parser.add_argument(
        "--allow-no-genre", action="store_true",
        help="let the model answer no genre (default: the most probable genre is always returned)",
    )  # fmt: skip
    add_reader_flags(parser)
    add_labels_flag(parser)
    neural = parser.add_argument_group("neural model options (lstm, ngram, minilm)")
    neural.add_argument("--epochs", type=int, help="maximum number of epochs (early stopping)")
    neural.add_argument("--seed", type=int, help="random seed (reproducible on CPU)")
    neural.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: auto")
    neural.add_argument("--batch-size", type=int, help="training batch size")
    neural.add_argument("--lr", type=float, help="learning rate")
    neural.add_argument("--bf16", action="store_true", default=None, help="bf16 autocast")
    neural.add_argument(
        "--checkpoint-dir", help="write a checkpoint here after every epoch (safetensors + JSON)"
    )
    neural.add_argument(
        "--resume", action="store_true", default=None,
        help="continue from the last checkpoint in --checkpoint-dir",
    )  # fmt: skip
    neural.add_argument(
        "--embeddings", help="GloVe text file (.txt, .zip, .gz); default GloVe 6B 50d"
    )
    neural.add_argument(
        "--model-option", action="append", default=[], metavar="KEY=VALUE",
        help="any other model constructor option, VALUE read as JSON when it parses (repeatable)",
    )  # fmt: skip
    teach = parser.add_argument_group("distillation (lstm, ngram)")
    teach.add_argument(
        "--distill", action="store_true",
        help="learn from hard labels blended with a teacher's cross-fitted probabilities "
        "(default teacher: frozen MiniLM + word and character TF-IDF SVM + BiLSTM; needs the "
        "minilm extra)",
    )  # fmt: skip
    teach.add_argument(
        "--teacher", metavar="SPEC",
        help='teacher model spec as JSON, e.g. \'{"type": "tfidf"}\' (implies --distill)',
    )  # fmt: skip
    teach.add_argument(
        "--distill-alpha", type=float, default=0.5, metavar="A",
        help="weight of the hard labels; 1 - A goes to the teacher (default 0.5)",
    )  # fmt: skip
    teach.add_argument(
        "--distill-folds", type=int, default=5, metavar="K",
        help="cross-fitting folds: each movie is scored by a teacher trained without it",
    )  # fmt: skip
    teach.add_argument(
        "--distill-augment", type=int, default=0, metavar="N",
        help="also train on N made-up plots per movie (a piece of its plot and a piece of "
        "another's from its fold), labelled by the teacher alone (default 0)",
    )  # fmt: skip
    teach.add_argument(
        "--teacher-cache", metavar="DIR",
        help="keep each teacher member's cross-fitted folds here: an interrupted run resumes at "
        "the next fold, and later runs with the same data and member reuse them",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir", metavar="DIR",
        help="keep frozen MiniLM embeddings here between runs (minilm and the distillation "
        "teacher; default: none kept); for poster and fusion, the image network and poster "
        "features (default: ~/.cache/moviegenre/posters); for multilingual, the encoder's "
        "vectors",
    )  # fmt: skip
    posters = parser.add_argument_group(
        "posters (poster: --data is a poster index; fusion and multilingual: --data is the corpus)"
    )
    posters.add_argument(
        "--posters", metavar="INDEX",
        help="poster index CSV (file, genres, label_source, split, corpus_id): fusion tunes its "
        "poster weight on the corpus valid movies that have one",
    )  # fmt: skip
    parser.set_defaults(func=run)


def distill_settings(args: argparse.Namespace) -> dict | None:
    """The `distill` argument of train(), or None without --distill/--teacher."""
    from moviegenre.errors import MovieGenreError

    if not args.distill and not args.teacher:
        return None
    settings: dict = {"alpha": args.distill_alpha, "folds": args.distill_folds}
    if args.distill_augment:
        settings["augment"] = args.distill_augment
    if args.teacher_cache:
        settings["teacher_cache"] = args.teacher_cache
    if args.teacher:
        try:
            teacher = json.loads(args.teacher)
        except ValueError as exc:
            raise MovieGenreError(f"--teacher is not valid JSON ({exc.msg})") from exc
        if not isinstance(teacher, dict) or not isinstance(teacher.get("type"), str):
            raise MovieGenreError('--teacher must be a JSON object with a "type", e.g. '
                                  '{"type": "tfidf", "options": {"C": 4}}')  # fmt: skip
        settings["teacher"] = teacher
    return settings


def model_options(args: argparse.Namespace) -> dict:
    """Options for the chosen model type: only the flags given and its constructor accepts."""
    import inspect

    from moviegenre.models import GenreModel, model_class

    given = {
        name: getattr(args, name, None)
        for name in ("epochs", "seed", "device", "batch_size", "lr", "bf16", "checkpoint_dir",
                     "resume", "embeddings")
    }  # fmt: skip
    options = {k: v for k, v in given.items() if v is not None}
    chosen = {}
    for item in getattr(args, "model_option", None) or []:
        key, value = parse_key_value(item, "--model-option")
        chosen[key.replace("-", "_")] = value
    options.update(chosen)
    if not options:
        return {}
    if not issubclass(model_class(args.model_type, options), GenreModel):
        return chosen  # an assembled model (poster, fusion...): train() checks its own options
    accepted = {
        "finetune",  # minilm: selects minilm-finetuned (see model_class)
        *inspect.signature(model_class(args.model_type, options).__init__).parameters,
    }
    dropped = sorted(k for k in options if k not in accepted)
    if dropped:
        print(f"moviegenre: note: model type {args.model_type!r} ignores {', '.join(dropped)}",
              file=sys.stderr)  # fmt: skip
    return {k: v for k, v in options.items() if k in accepted}


def run(args: argparse.Namespace) -> int:
    from moviegenre.training.build import default_model_type

    if args.model_type is None:
        args.model_type = default_model_type(args.labels)
    from moviegenre.training.train import headline, train

    options = reader_options(args)
    labels = options.pop("labels", None)
    result = train(
        args.data,
        args.model_type,
        args.out,
        model_options=model_options(args),
        threshold_metric=args.threshold_metric,
        calibration=None if args.calibration == "none" else args.calibration,
        min_genres=0 if args.allow_no_genre else 1,
        reader_options=options,
        distill=distill_settings(args),
        cache_dir=args.cache_dir,
        labels=labels,
        posters=args.posters,
    )
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, rank 0 reports (and wrote the bundle)
    summary = {name: headline(m) for name, m in result.metrics.items()}
    print(json.dumps({"bundle": str(result.path), "seconds": round(result.seconds, 1),
                      "metrics": summary}, indent=2))  # fmt: skip
    print(f"wrote {result.path} in {result.seconds:.0f} s", file=sys.stderr)
    return 0
