"""Text: tokenisation, vocabularies and word vectors."""
