"""Radiology-report utilities: BI-RADS category parsing (paper Sec. 5.7)."""

from mvkl.radiology.birads import (
    CATEGORIES,
    GROUPS,
    SUSPICION_ORDER,
    BiradsMention,
    birads_group,
    find_birads,
    normalize_birads,
    parse_birads,
    suspicion_rank,
)

__all__ = [
    "CATEGORIES",
    "GROUPS",
    "SUSPICION_ORDER",
    "BiradsMention",
    "birads_group",
    "find_birads",
    "normalize_birads",
    "parse_birads",
    "suspicion_rank",
]
