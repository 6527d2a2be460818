"""The MiniLM model types: a frozen sentence encoder with a genre head, and the fine-tuned encoder.

`encoder` reads plots with all-MiniLM-L6-v2 (overlapping chunks, pooled once), `heads` are the
genre heads both model types use (frozen embeddings are kept on disk by `models.vector_cache`),
`frozen` is the `minilm` model type and `finetuned` the `minilm-finetuned` one.
"""
