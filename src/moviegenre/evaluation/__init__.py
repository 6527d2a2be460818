"""Evaluation: honest multi-label metrics and the HTML report."""
