"""The HDF5 store: the contract between ingest and everything else (see :mod:`.schema`)."""

from mvkl.store.io import Store, check_store, derive_image_fields, write_store
from mvkl.store.schema import FORMAT_VERSION, SPLIT_NAMES, VIEW_CODES

__all__ = ["FORMAT_VERSION", "SPLIT_NAMES", "VIEW_CODES", "Store", "check_store", "derive_image_fields",
           "write_store"]
