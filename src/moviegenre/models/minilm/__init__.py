"""The MiniLM model types: a frozen sentence encoder with a genre head, and the fine-tuned encoder.

`encoder` reads plots with all-MiniLM-L6-v2 (overlapping chunks, pooled once), `cache` keeps
frozen embeddings on disk when asked, `heads` are the genre heads both model types use,
`frozen` is the `minilm` model type and `finetuned` the `minilm-finetuned` one.
"""
