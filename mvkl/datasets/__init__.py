"""Dataset adapters: each source layout becomes common records (DESIGN.md data flow).

:data:`ADAPTERS` maps a ``--format`` name to its adapter; see :mod:`mvkl.datasets.base` for the
contract and how to add one (``register(MyAdapter())``). Built in: ``mvkl`` (MVKL release
layout, :mod:`.mvkl_release`) and ``csv`` (generic manifest table, :mod:`.csv_manifest`).
"""

from mvkl.datasets.base import ADAPTERS, Adapter, detect_format, get_adapter, register
from mvkl.datasets.csv_manifest import CsvManifestAdapter
from mvkl.datasets.mvkl_release import MvklReleaseAdapter

register(MvklReleaseAdapter())
register(CsvManifestAdapter())

__all__ = ["ADAPTERS", "Adapter", "CsvManifestAdapter", "MvklReleaseAdapter", "detect_format", "get_adapter",
           "register"]
