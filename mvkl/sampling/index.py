"""Grouping of lumps by unique (manifestation, known-mask) and packed distances (paper Sec. 4.2).

The sampler never looks at pixels: it reads the ``(N, 35)`` manifestation matrix and known-mask
of the training split. Lumps are grouped by their unique pair (vector restricted to its known
dimensions, known-mask); the U ≤ N groups are what ManiNeg de-duplicates on (B9) and what
distances are computed between. Distances are *masked* Hamming distances (only dimensions known
in both vectors count, :func:`mvkl.manifest.masked_hamming`), computed from one group to all U
groups in O(U) with packed ``uint64`` and popcount. There is no O(U²) table (docs/fidelity.md, B16).

Memory is linear in N: a few int64/uint64 arrays of length N and U.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

__all__ = ["ManifestIndex", "fast_pack"]


def fast_pack(bits: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Pack an ``(N, D ≤ 64)`` 0/1 matrix into ``(N,)`` uint64 (bit j = column j).

    Same result as :func:`mvkl.manifest.pack` (floats binarised at 0.5, other dtypes at ≠ 0), but
    through ``np.packbits`` so packing a million rows needs megabytes, not a (N, D) uint64 copy.
    """
    v = np.asarray(bits)
    if v.ndim != 2:
        raise ValueError(f"expected an (N, D) matrix, got shape {v.shape}")
    if v.shape[1] > 64:
        raise ValueError(f"cannot pack {v.shape[1]} dimensions into 64 bits")
    b = v > 0.5 if v.dtype.kind == "f" else v != 0
    by = np.packbits(b, axis=1, bitorder="little")
    out = np.zeros((v.shape[0], 8), dtype=np.uint8)
    out[:, : by.shape[1]] = by
    return out.view("<u8").reshape(-1).astype(np.uint64, copy=False)


class ManifestIndex:
    """Unique (manifestation, known-mask) groups of the training lumps.

    Attributes:
        n: number of lumps (training rows).
        dim: number of manifestation dimensions D (35); the largest distance is D.
        vec, mask: ``(N,)`` packed vector (unknown bits cleared) and known-mask per row.
        uid: ``(N,)`` group id of each row (0..U−1).
        u_vec, u_mask: ``(U,)`` packed vector and mask per group.
        sizes: ``(U,)`` number of lumps per group.
        members: ``(N,)`` rows sorted by group; group u's rows are
            ``members[starts[u]:starts[u] + sizes[u]]``.
        starts: ``(U + 1,)`` offsets into ``members``.
        anchorable: ``(N,)`` bool, rows with at least one known dimension.
        full_masks: True when every row knows every dimension (unmasked fast path).
    """

    def __init__(self, manifests: npt.ArrayLike, known: npt.ArrayLike | None = None) -> None:
        m = np.asarray(manifests)
        if m.ndim != 2 or m.shape[0] == 0:
            raise ValueError(f"manifests must be a non-empty (N, D) matrix, got shape {m.shape}")
        self.n, self.dim = int(m.shape[0]), int(m.shape[1])
        if self.dim > 63:
            raise ValueError(f"at most 63 manifestation dimensions are supported, got {self.dim}")
        all_bits = np.uint64((1 << self.dim) - 1)
        if known is None:
            mask = np.full(self.n, all_bits, dtype=np.uint64)
        else:
            k = np.asarray(known)
            if k.shape != m.shape:
                raise ValueError(f"known has shape {k.shape}, manifests {m.shape}")
            mask = fast_pack(k)
        vec = fast_pack(m) & mask
        self.vec, self.mask = vec, mask
        masks, mask_id = np.unique(mask, return_inverse=True)
        self.n_masks = int(masks.size)
        self.full_masks = self.n_masks == 1 and masks[0] == all_bits
        mask_id = mask_id.reshape(-1).astype(np.int64)
        if self.n_masks < (1 << (64 - self.dim)):
            # One uint64 key per row: mask id in the high bits, vector in the low D bits.
            key = (mask_id.astype(np.uint64) << np.uint64(self.dim)) | vec
            ukeys, inv, sizes = np.unique(key, return_inverse=True, return_counts=True)
            self.u_vec = ukeys & all_bits
            self.u_mask = masks[(ukeys >> np.uint64(self.dim)).astype(np.int64)]
        else:  # pragma: no cover - needs more distinct masks than fit beside D bits
            pairs = np.stack([mask_id.astype(np.uint64), vec], axis=1)
            upairs, inv, sizes = np.unique(pairs, axis=0, return_inverse=True, return_counts=True)
            self.u_vec = upairs[:, 1].copy()
            self.u_mask = masks[upairs[:, 0].astype(np.int64)]
        self.uid = inv.astype(np.int64, copy=False).reshape(-1)
        self.sizes = sizes.astype(np.int64)
        self.members = np.argsort(self.uid, kind="stable").astype(np.int64)
        self.starts = np.zeros(self.sizes.size + 1, dtype=np.int64)
        np.cumsum(self.sizes, out=self.starts[1:])
        self.anchorable = self.mask != 0
        self._fingerprint: str | None = None

    @property
    def n_unique(self) -> int:
        """U, the number of distinct (manifestation, known-mask) pairs."""
        return int(self.sizes.size)

    def distances_from(self, u: int) -> npt.NDArray[np.uint8]:
        """Masked Hamming distance from group ``u`` to every group, ``(U,)`` uint8, O(U)."""
        x = np.bitwise_xor(self.u_vec, self.u_vec[u])
        if not self.full_masks:
            x &= self.u_mask & self.u_mask[u]
        return np.bitwise_count(x)

    def rows_distance(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """Masked distance between rows ``a`` and rows ``b`` (broadcasting)."""
        a = np.asarray(a)
        b = np.asarray(b)
        x = np.bitwise_xor(self.vec[a], self.vec[b])
        return np.bitwise_count(x & self.mask[a] & self.mask[b])

    def group_rows(self, u: int) -> npt.NDArray[np.int64]:
        """Rows of group ``u``."""
        return self.members[self.starts[u] : self.starts[u + 1]]

    def expand(self, uids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Rows of several groups: ``(rows, owner)`` with ``owner[i]`` the position in ``uids``."""
        sz = self.sizes[uids]
        owner = np.repeat(np.arange(uids.size), sz)
        first = np.repeat(self.starts[uids], sz)
        offs = np.arange(owner.size) - np.repeat(np.cumsum(sz) - sz, sz)
        return self.members[first + offs], owner

    def fingerprint(self) -> str:
        """SHA-256 (16 hex) of the packed rows: a resumed sampler must see the same data."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            h.update(np.int64(self.dim).tobytes())
            h.update(self.vec.tobytes())
            h.update(self.mask.tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint
