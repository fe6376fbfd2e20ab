"""The 35-dim manifestation schema (paper Table 1): schema, tables, text and bit packing."""

from mvkl.manifest.packing import hamming, hamming_matrix, masked_hamming, pack, unpack
from mvkl.manifest.schema import DIM, GROUPS, MISC_GROUP, OPTIONS, Group, Option, dim_keys
from mvkl.manifest.text import textualize

__all__ = [
    "DIM",
    "GROUPS",
    "MISC_GROUP",
    "OPTIONS",
    "Group",
    "Option",
    "dim_keys",
    "hamming",
    "hamming_matrix",
    "masked_hamming",
    "pack",
    "textualize",
    "unpack",
]
