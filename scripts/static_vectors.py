"""Write MiniLM static word vectors (a GloVe text file) for the fast n-gram model's vocabulary.

The words are those an `ngram` model trained on DATA's train split reads: the most frequent
GloVe words it keeps (`--glove-words`, GloVe's order), then the training words GloVe's list
lacks, most frequent first. Each is encoded alone by MiniLM and PCA-reduced to `--dim`
(`moviegenre.models.minilm.static`). Needs the minilm extra. About a minute on one thread.

    python scripts/static_vectors.py --data ../shared/data/tmdb-overviews/movies.jsonl \\
        --dim 128 --out runs/minilm-static-128.txt
    moviegenre train --model-type ngram --model-option embeddings=runs/minilm-static-128.txt ...
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the corpus (its train split's words)")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--glove-words", type=int, default=50000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    from moviegenre.data.dataset import split_records
    from moviegenre.data.readers import read_data
    from moviegenre.models.minilm.static import write_static_vectors
    from moviegenre.models.ngram import readable_glove_words, word_counts
    from moviegenre.text.tokenizer import PAD, UNK

    train = split_records(read_data(args.data).usable())["train"]
    counts = word_counts([r.plot for r in train])
    glove = readable_glove_words(args.glove_words)  # the GloVe words the n-gram model keeps
    seen = set(glove) | {PAD, UNK}
    words = glove + [w for w, _ in counts.most_common() if w not in seen]
    path = write_static_vectors(args.out, words, args.dim, progress=True)
    print(f"{len(words)} words, {args.dim} dimensions: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
