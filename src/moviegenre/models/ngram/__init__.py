"""The fast `ngram` model: mean word and word-pair embeddings into a small MLP, NumPy to predict.

A plot becomes two bags: its words (a vocabulary of training words plus frequent GloVe words,
GloVe-initialised) and its adjacent word pairs (pairs seen at least `min_pair_count` times in
training). Each bag is averaged into one vector; the two vectors go through one hidden layer to one
sigmoid per genre. Every token of a plot is read, however long the plot, and the cost grows with
its length only. Training uses PyTorch (EmbeddingBag); prediction is a sparse-times-dense product
and two small matrix products in NumPy/SciPy, so serving needs neither PyTorch nor ONNX Runtime.
Trained on a teacher's soft targets (`--distill`) it keeps most of a much slower model's quality.

`encoder` reads plots (vocabulary rule, word and pair ids), `kernels` predicts with NumPy,
`model` is the model type (parameters, files), `training` and `net` (PyTorch, imported only by
`fit`) learn it. There is no ONNX export: no runtime would read it, the NumPy path is faster.
"""

from moviegenre.models.ngram.encoder import (
    UNK_ID,
    NgramEncoder,
    PairIndex,
    readable_glove_words,
    word_counts,
)
from moviegenre.models.ngram.model import NgramGenreModel

__all__ = [
    "UNK_ID",
    "NgramEncoder",
    "NgramGenreModel",
    "PairIndex",
    "readable_glove_words",
    "word_counts",
]
