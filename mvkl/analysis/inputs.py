"""Images for the analyses and for inference: rows of a store, or DICOM files through the ingest
pixel pipeline (docs/ingest.md; paper Sec. 5.9).

* :func:`select_store_images` picks image rows of a store by split, label, ids and a limit;
* :func:`collect_dicom_files` expands files and folders into an ordered list of DICOM inputs;
* :func:`load_dicom_inputs` reads each one with :func:`mvkl.dicom.load_image` (the exact pixel
  pipeline of ``mvkl ingest``: LUTs, MONOCHROME1, crop, chest wall left, pad, area resize), keeping
  only the pixels and the allow-listed view and laterality (:class:`~mvkl.dicom.SafeHeader`); a
  bad file becomes a quarantined :class:`InputImage` with its reason code, never an exception;
* :func:`to_model_input` turns stored pixels into the ``(1, S, S)`` float tensor every model takes
  (:func:`mvkl.torchdata.datasets.to_float` + :class:`mvkl.torchdata.EvalTransform`, as evaluation does).

Identifier policy (``mvkl predict``, ``mvkl cam`` on DICOM files): a source path can itself be
identifying (MVKL folders are named by patient ID and accession number), so an input is shown as
its position and a short keyed hash, ``#3 9f2c41d07a`` = HMAC-SHA256(pseudonym key, relative
path)[:10]; the relative path is printed only on request (``show_paths``). With the key of
``mvkl ingest`` the hash is stable across runs and cannot be reversed by enumerating plausible
patient IDs; without a key file a random per-run key is used (hashes differ between runs).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = [
    "HASH_CHARS",
    "InputImage",
    "collect_dicom_files",
    "input_hasher",
    "load_dicom_inputs",
    "select_store_images",
    "to_model_input",
]

log = logging.getLogger(__name__)

#: Hex characters of the keyed hash that names an input file.
HASH_CHARS = 10
#: File suffixes taken from folders without looking inside (other files need the DICM preamble).
DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")


@dataclass
class InputImage:
    """One input image of ``cam`` / ``predict`` and how to name it without identifying anyone.

    Attributes:
        position: 0-based position in input order.
        key: short keyed hash of the relative path (files) or the image pseudonym (store rows).
        name: relative path (files; shown only with ``show_paths``) or the image pseudonym.
        pixels: stored-image pixels ``(S, S)`` uint8/uint16, None when quarantined.
        view, laterality: from the allow-listed header or the store (``"other"``, ``"U"`` unknown).
        reason, detail: quarantine reason code and identifier-free detail (None when ok).
        row, lump_id, label: store row, pseudonymous lump id and label (store inputs only).
    """

    position: int
    key: str
    name: str
    pixels: np.ndarray | None = field(default=None, repr=False)
    view: str = "other"
    laterality: str = "U"
    reason: str | None = None
    detail: str | None = None
    row: int | None = None
    lump_id: str | None = None
    label: int | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def tag(self, show_paths: bool = False) -> str:
        """``#3 9f2c41d07a`` (or ``#3 some/dir/IMG0001.dcm`` with ``show_paths``)."""
        return f"#{self.position} {self.name if show_paths else self.key}"


def to_model_input(pixels: np.ndarray, size: int) -> Any:
    """Stored pixels ``(S, S)`` → ``(1, size, size)`` float32 in [0, 1] (the evaluation transform)."""
    from mvkl.torchdata.augment import EvalTransform
    from mvkl.torchdata.datasets import to_float

    return EvalTransform(size)(to_float(pixels))


# --- store rows ----------------------------------------------------------------------------------


def _decode_ids(arr: np.ndarray) -> list[str]:
    return [bytes(x).decode("ascii", "replace") for x in arr]


def select_store_images(store: Any, split: str | None = "test", *, label: str = "all",
                        ids: Sequence[str] | None = None, limit: int | None = None) -> list[InputImage]:
    """Image rows of a :class:`~mvkl.store.Store` as :class:`InputImage` (pixels read here).

    Args:
        split: ``train``/``val``/``test`` or None (all images).
        label: ``all``, ``malignant`` (image label 1) or ``benign`` (0).
        ids: image or lump pseudonyms; a lump id selects its images. Unknown ids are an InputError.
        limit: at most this many images, in store order.
    """
    from mvkl.store import schema as SC

    meta = store.images_meta
    rows = store.image_indices(split if split not in (None, "all") else None)
    if label not in ("all", "malignant", "benign"):
        raise InputError(f"--label must be all, malignant or benign (got {label!r})", code="option")
    if label != "all":
        rows = rows[meta["label"][rows] == (1 if label == "malignant" else 0)]
    image_ids = _decode_ids(meta["image_id"])
    L = store.lumps
    lump_ids = _decode_ids(L["lump_id"])
    first_lump: dict[int, int] = {}
    for li in range(len(lump_ids)):
        for col in ("cc", "mlo"):
            r = int(L[col][li])
            if r >= 0:
                first_lump.setdefault(r, li)
    if ids:
        wanted: set[int] = set()
        by_image = {v: i for i, v in enumerate(image_ids)}
        by_lump = {v: i for i, v in enumerate(lump_ids)}
        unknown = []
        for raw in ids:
            s = raw.strip()
            if s in by_image:
                wanted.add(by_image[s])
            elif s in by_lump:
                wanted.update(int(L[c][by_lump[s]]) for c in ("cc", "mlo") if int(L[c][by_lump[s]]) >= 0)
            else:
                unknown.append(s)
        if unknown:
            raise InputError(f"{len(unknown)} id(s) are neither image nor lump pseudonyms of this store: "
                             f"{', '.join(unknown[:5])}", file=display_path(store.path), code="unknown-id")
        rows = np.array([r for r in rows if int(r) in wanted], dtype=np.int64)
    if limit is not None:
        if limit < 1:
            raise InputError(f"--limit must be at least 1 (got {limit})", code="option")
        rows = rows[:limit]
    codes = store.info.attrs.get("view_codes") or list(SC.VIEW_CODES)
    lat = store.info.attrs.get("laterality_codes") or list(SC.LATERALITY_CODES)
    out = []
    pixels = store.images(rows) if len(rows) else []
    for pos, r in enumerate(rows):
        r = int(r)
        li = first_lump.get(r)
        out.append(InputImage(position=pos, key=image_ids[r], name=image_ids[r], pixels=pixels[pos],
                              view=codes[int(meta["view"][r])] if int(meta["view"][r]) < len(codes) else "other",
                              laterality=lat[int(meta["laterality"][r])] if int(meta["laterality"][r]) < len(lat)
                              else "U", row=r, lump_id=lump_ids[li] if li is not None else None,
                              label=int(meta["label"][r])))
    return out


# --- DICOM files ---------------------------------------------------------------------------------


def _has_preamble(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(132)
    except OSError:
        return True  # let the reader quarantine it with the right reason
    return len(head) == 132 and head[128:132] == b"DICM"


def collect_dicom_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[tuple[Path, str]], int]:
    """Expand ``paths`` into ``[(path, relative name)]`` in a stable order, plus the number of
    non-DICOM files skipped inside folders.

    A file argument is always taken (a bad one is quarantined later with its reason). A folder
    is walked recursively in sorted order; hidden entries are ignored, and a file is taken when
    its suffix is ``.dcm``/``.dicom``/``.dic`` or it carries the DICOM preamble (``DICM`` at byte
    128), so tables, reports and images next to the studies are skipped. The name of an input is
    its file name (file arguments) or ``folder-name/relative/path`` (folder members): never an
    absolute path, independent of the working directory (so its keyed hash is stable), but it can
    identify a patient and is shown only on request. A missing argument is an InputError (exit 2).
    """
    out: list[tuple[Path, str]] = []
    skipped = 0
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            cands = [(p, p.name)]
        elif p.is_dir():
            cands = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    f = Path(root) / name
                    if f.suffix.lower() in DICOM_SUFFIXES or _has_preamble(f):
                        cands.append((f, str(Path(p.resolve().name) / f.relative_to(p))))
                    else:
                        skipped += 1
        else:
            raise InputError("input not found", file=display_path(p), code="missing-file")
        for f, rel in cands:
            ident = str(f.resolve())
            if ident in seen:
                continue
            seen.add(ident)
            out.append((f, rel))
    return out, skipped


def input_hasher(key_file: str | os.PathLike[str] | None) -> tuple[Any, str]:
    """``(hash(name) -> 10 hex chars, key description)`` keyed with the pseudonym key.

    ``key_file`` None uses ``$MVKL_KEY_FILE`` or the ingest default; an existing key file is read
    (never created here); without one a random per-run key is used.
    """
    from mvkl.dicom import Pseudonymizer
    from mvkl.dicom.deid import load_or_create_key
    from mvkl.ingest.pipeline import default_key_file

    path = Path(key_file) if key_file is not None else default_key_file()
    if path.is_file() or key_file is not None:
        if not path.is_file():
            raise InputError("key file not found", file=display_path(path), code="bad-key")
        pseudo = Pseudonymizer(load_or_create_key(path))
        desc = f"key {pseudo.fingerprint}"
    else:
        pseudo = Pseudonymizer(secrets.token_bytes(32))
        desc = "per-run random key (no key file)"
        log.info("no pseudonym key file: input hashes are random per run (pass --key-file to make them stable)")
    return (lambda name: pseudo("input-file", name)[:HASH_CHARS]), desc


def load_dicom_inputs(files: Sequence[tuple[Path, str]], image_size: int, *, pixel_dtype: str = "uint8",
                      hasher: Any = None, on_item: Any = None) -> list[InputImage]:
    """Read each file through the ingest pixel pipeline (:func:`mvkl.dicom.load_image`).

    Only pixels, view and laterality are kept from a file. Quarantined files keep their reason
    code and identifier-free detail; ``on_item()`` is called after each file (progress).
    """
    from mvkl.dicom import PixelPolicy, load_image
    from mvkl.ingest.decode import norm_laterality, norm_view
    from mvkl.quarantine import QuarantineError

    policy = PixelPolicy(image_size=int(image_size), pixel_dtype=pixel_dtype)
    hasher = hasher or input_hasher(None)[0]
    out = []
    for pos, (f, rel) in enumerate(files):
        item = InputImage(position=pos, key=hasher(rel), name=rel)
        try:
            res = load_image(f, policy)
        except QuarantineError as exc:
            item.reason, item.detail = exc.reason.value, exc.detail
        else:
            item.pixels = np.ascontiguousarray(res.pixels)
            item.view = norm_view(res.header.view) or "other"
            item.laterality = norm_laterality(res.header.laterality) or "U"
        out.append(item)
        if on_item is not None:
            on_item()
    return out
