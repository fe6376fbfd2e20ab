"""Representation quality: alignment / uniformity metrics and the run behind `mvkl represent`."""
