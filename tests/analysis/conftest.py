"""Fixtures of :mod:`tests.analysis.fixtures` for this package."""

from tests.analysis.fixtures import analysis_store, ft_setup, tiny_bert, tiny_store_arrays, tiny_vikl, tiny_vikl_2d

__all__ = ["analysis_store", "ft_setup", "tiny_bert", "tiny_store_arrays", "tiny_vikl", "tiny_vikl_2d"]
