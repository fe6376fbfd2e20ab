"""Dataset adapters: each source layout becomes common records (DESIGN.md data flow).

:data:`ADAPTERS` maps a ``--format`` name to its adapter; see :mod:`mvkl.sources.base` for the
contract and how to add one (``register(MyAdapter())``). Built in: ``mvkl`` (MVKL release
layout, :mod:`.mvkl_release`), ``csv`` (generic manifest table, :mod:`.csv_manifest`),
``cbis-ddsm`` (:mod:`.cbis_ddsm`), ``inbreast`` (:mod:`.inbreast`) and ``vindr`` (:mod:`.vindr`).
Importing the registry is cheap (``mvkl ingest --help`` lists it): polars and the table reader
are imported where a table is read.
"""

from mvkl.sources.base import ADAPTERS, Adapter, detect_format, get_adapter, register
from mvkl.sources.cbis_ddsm import CbisDdsmAdapter
from mvkl.sources.csv_manifest import CsvManifestAdapter
from mvkl.sources.inbreast import InbreastAdapter
from mvkl.sources.mvkl_release import MvklReleaseAdapter
from mvkl.sources.vindr import VindrAdapter

register(MvklReleaseAdapter())
register(CsvManifestAdapter())
register(CbisDdsmAdapter())
register(InbreastAdapter())
register(VindrAdapter())

__all__ = ["ADAPTERS", "Adapter", "CbisDdsmAdapter", "CsvManifestAdapter", "InbreastAdapter", "MvklReleaseAdapter",
           "VindrAdapter", "detect_format", "get_adapter", "register"]
