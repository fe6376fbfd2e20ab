"""Turn manifestation vectors into text ("mass shape: irregular, mass edge: spiculated, ...").

Used for the "-M" baselines of paper Table 5, where other vision-language models are pretrained
on reports with the textualised manifestations appended.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from mvkl.manifest import schema as S

__all__ = ["textualize"]


def textualize(
    vector: npt.ArrayLike,
    known: npt.ArrayLike | None = None,
    lang: Literal["en", "zh"] = "en",
    include_absent_groups: bool = False,
) -> str:
    """Describe one 35-dim vector in words, in the order of paper Table 1.

    Exclusive groups print ``group: option``; present miscellaneous signs are listed by name.
    Unknown groups are skipped; absent groups are skipped unless ``include_absent_groups``.
    """
    v = np.asarray(vector).reshape(-1) > 0.5
    k = np.ones(S.DIM, dtype=bool) if known is None else np.asarray(known).reshape(-1) > 0.5
    if v.shape[0] != S.DIM or k.shape[0] != S.DIM:
        raise ValueError(f"expected {S.DIM} dimensions, got {v.shape[0]}")
    sep, colon = (", ", ": ") if lang == "en" else ("，", "：")
    parts: list[str] = []
    for g in S.exclusive_groups():
        sl = g.slice
        if not k[sl].all():
            continue
        hit = np.nonzero(v[sl])[0]
        gname = getattr(g, lang)
        if hit.size:
            parts.append(f"{gname}{colon}{getattr(g.options[int(hit[0])], lang)}")
        elif include_absent_groups:
            parts.append(f"{gname}{colon}{'none' if lang == 'en' else '无'}")
    signs = [getattr(o, lang) for o in S.MISC_GROUP.options if k[o.index] and v[o.index]]
    if signs:
        parts.append(f"{getattr(S.MISC_GROUP, lang)}{colon}" + ("; " if lang == "en" else "、").join(signs))
    return sep.join(parts)
