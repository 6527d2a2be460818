#!/usr/bin/env bash
# Rebuild the shipped default model (src/moviegenre/default_model) from the shared corpus:
# a BiLSTM over GloVe, distilled from a cross-fitted frozen-MiniLM + TF-IDF teacher, and a compact
# word TF-IDF model, combined by an ensemble whose weights and per-genre thresholds are tuned on
# the validation split; then the poster part (scripts/build_poster_default.sh) wraps it with a
# poster model. Needs the training, MiniLM and poster extras (pip install -e '.[all]').
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/tmdb-overviews/movies.jsonl}
WORK=${WORK:-runs/default-model}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
CACHE=${CACHE:-$HOME/.cache/moviegenre/embeddings}  # MiniLM embeddings kept between rebuilds
# the teacher the shipped BiLSTM learned from (recorded in its bundle), named here so the rebuild
# does not follow later changes of the default teacher
TEACHER='{"type": "ensemble", "options": {"members": [{"type": "minilm", "options": {"head": "mlp"}},
  {"type": "tfidf", "options": {"classifier": "logreg", "C": 4, "char_max_features": 0}}]}}'
moviegenre train --data "$DATA" --model-type lstm --seed 0 --distill --teacher "$TEACHER" \
  --cache-dir "$CACHE" --out "$WORK/lstm"
moviegenre train --data "$DATA" --model-type tfidf --model-option classifier=logreg \
  --model-option C=4 --model-option char_max_features=0 --model-option half=true \
  --out "$WORK/tfidf"
moviegenre train --data "$DATA" --model-type ensemble \
  --model-option "members=[\"$WORK/lstm\",\"$WORK/tfidf\"]" --out "$WORK/text"
bash scripts/build_poster_default.sh "$WORK/text"
