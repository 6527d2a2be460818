"""Per-genre probability calibration: fitted on validation data, stored as JSON in a bundle."""

from moviegenre.calibration.calibrator import DEFAULT_METHOD, METHODS, Calibrator

__all__ = ["DEFAULT_METHOD", "METHODS", "Calibrator"]
