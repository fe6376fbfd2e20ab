"""Bit packing of manifestation vectors and popcount Hamming distances (paper Sec. 4.2, Eq. 7).

ManiNeg measures how hard a negative is by the Hamming distance between manifestation vectors.
A 35-dim 0/1 vector fits in one ``uint64`` (bit ``j`` = dimension ``j``, the order of paper
Table 1), so the distance between two lumps is ``popcount(a XOR b)``, computed by
``numpy.bitwise_count`` over millions of rows at once. This replaces the original code's Python
integer hash, which overflows under NumPy >= 2 (B16, docs/fidelity.md).

Public data sets describe only some groups; the *masked* distance counts a dimension only where
both vectors know it: ``popcount((a XOR b) AND known_a AND known_b)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mvkl.manifest.schema import DIM

__all__ = ["hamming", "hamming_matrix", "masked_hamming", "pack", "unpack"]

_WEIGHTS = (np.uint64(1) << np.arange(64, dtype=np.uint64)).astype(np.uint64)


def pack(vectors: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Pack 0/1 vectors of shape ``(N, D)`` (``D <= 64``) or ``(D,)`` into ``uint64``.

    Values are binarised at 0.5 (so float probabilities or 0/1 floats are accepted).

    Returns:
        ``(N,)`` uint64 array (a 0-d array for a single vector), bit ``j`` set when
        ``vectors[..., j] > 0.5``.
    """
    v = np.asarray(vectors)
    if v.ndim not in (1, 2):
        raise ValueError(f"expected a vector or a matrix, got shape {v.shape}")
    d = v.shape[-1]
    if d > 64:
        raise ValueError(f"cannot pack {d} dimensions into 64 bits")
    bits = v > 0.5 if v.dtype.kind == "f" else v.astype(bool, copy=False)
    # Multiply-and-sum on uint64 is exact: every weight is a distinct power of two.
    return (bits.astype(np.uint64) * _WEIGHTS[:d]).sum(axis=-1, dtype=np.uint64)


def unpack(packed: npt.ArrayLike, dim: int = DIM) -> npt.NDArray[np.uint8]:
    """Inverse of :func:`pack`: ``(N,)`` uint64 to ``(N, dim)`` uint8 0/1."""
    p = np.asarray(packed, dtype=np.uint64)
    return ((p[..., None] >> np.arange(dim, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)


def hamming(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Hamming distance ``popcount(a XOR b)`` between packed vectors, with broadcasting.

    Example: the distances from one lump to a million others is ``hamming(packed[i], packed)``.
    """
    x = np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))
    return np.bitwise_count(x)


def masked_hamming(
    a: npt.ArrayLike, known_a: npt.ArrayLike, b: npt.ArrayLike, known_b: npt.ArrayLike
) -> npt.NDArray[np.uint8]:
    """Hamming distance over the dimensions known in both vectors (all packed, broadcasting).

    ``known_*`` are packed masks (bit set = dimension known). Dimensions unknown in either vector
    do not count, so a CBIS-DDSM mass (no calcification information) and an MVKL lump are
    compared on the mass groups and the shared signs only.
    """
    a64 = np.asarray(a, dtype=np.uint64)
    b64 = np.asarray(b, dtype=np.uint64)
    both = np.bitwise_and(np.asarray(known_a, dtype=np.uint64), np.asarray(known_b, dtype=np.uint64))
    return np.bitwise_count(np.bitwise_and(np.bitwise_xor(a64, b64), both))


def hamming_matrix(packed: npt.ArrayLike, known: npt.ArrayLike | None = None) -> npt.NDArray[np.uint8]:
    """All-pairs distance matrix ``(N, N)`` for small N (analysis, tests); O(N^2) memory."""
    p = np.asarray(packed, dtype=np.uint64)
    if known is None:
        return hamming(p[:, None], p[None, :])
    k = np.asarray(known, dtype=np.uint64)
    return masked_hamming(p[:, None], k[:, None], p[None, :], k[None, :])
