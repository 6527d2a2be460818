"""Explanations: which words of a plot raised or lowered each genre."""
