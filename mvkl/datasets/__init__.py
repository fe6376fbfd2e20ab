"""Dataset adapters: each source layout becomes common records (DESIGN.md data flow).

:data:`ADAPTERS` maps a ``--format`` name to its adapter; see :mod:`mvkl.datasets.base` for the
contract and how to add one (``register(MyAdapter())``). Built in: ``mvkl`` (MVKL release
layout, :mod:`.mvkl_release`), ``csv`` (generic manifest table, :mod:`.csv_manifest`),
``cbis-ddsm`` (:mod:`.cbis_ddsm`), ``inbreast`` (:mod:`.inbreast`) and ``vindr`` (:mod:`.vindr`).
Importing the registry is cheap (``mvkl ingest --help`` lists it): polars and the table reader
are imported where a table is read.
"""

from mvkl.datasets.base import ADAPTERS, Adapter, detect_format, get_adapter, register
from mvkl.datasets.cbis_ddsm import CbisDdsmAdapter
from mvkl.datasets.csv_manifest import CsvManifestAdapter
from mvkl.datasets.inbreast import InbreastAdapter
from mvkl.datasets.mvkl_release import MvklReleaseAdapter
from mvkl.datasets.vindr import VindrAdapter

register(MvklReleaseAdapter())
register(CsvManifestAdapter())
register(CbisDdsmAdapter())
register(InbreastAdapter())
register(VindrAdapter())

__all__ = ["ADAPTERS", "Adapter", "CbisDdsmAdapter", "CsvManifestAdapter", "InbreastAdapter", "MvklReleaseAdapter",
           "VindrAdapter", "detect_format", "get_adapter", "register"]
