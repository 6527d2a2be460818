"""Faithfulness of occlusion explanations on the corpus: the table in docs/explanations.md.

For each of the first 60 corpus test plots with at least 6 words: the mean drop of the top
genre's probability when the 3 highest-weighted words are removed, against 3 random words
(seeded; `moviegenre.explain.methods.faithfulness`, the check tests/test_explain.py makes).
Models: the shipped default model, and a word TF-IDF model (linear SVM, C=1, 10k features,
no character n-grams) fitted on the first 4,000 train plots.

    python benchmarks/faithfulness.py --data ../shared/data/tmdb-overviews/movies.jsonl
"""

from __future__ import annotations

import argparse
import sys

from moviegenre.api import load_model
from moviegenre.data.dataset import label_set, split_records, target_matrix
from moviegenre.data.readers import read_data
from moviegenre.explain.methods import faithfulness
from moviegenre.models.tfidf import TfidfGenreModel
from moviegenre.text.tokenizer import plot_words

PLOTS = 60
TRAIN_PLOTS = 4000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the corpus (with its train/test split)")
    args = parser.parse_args()
    splits = split_records(read_data(args.data).usable())
    plots = [r.plot for r in splits["test"] if len(plot_words(r.plot)) >= 6][:PLOTS]
    train_set = splits["train"][:TRAIN_PLOTS]
    labels = label_set(train_set)
    tfidf = TfidfGenreModel(labels, C=1.0, max_features=10000, char_ngrams=None)
    tfidf.fit([r.plot for r in train_set], target_matrix(train_set, labels))
    models = {
        f"shipped default model ({load_model().kind})": load_model(),
        f"word TF-IDF + linear SVM ({len(train_set):,} train plots, 10k features)": tfidf,
    }
    print(f"{len(plots)} test plots")
    print("| Model | mean drop, top-3 words | mean drop, 3 random words |")
    print("|---|---|---|")
    for name, model in models.items():
        top, chance = faithfulness(model, plots)
        print(f"| {name} | {top:.3f} | {chance:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
