"""Crash-safe, resumable store writing (DESIGN.md: nothing half-written at a final path).

While an ingest runs, nothing exists at the final path ``STORE.h5``. Work goes to the directory
``STORE.h5.partial/``:

* ``plan.json``: the plan fingerprint (a keyed hash of inputs and options; no identifier), the
  image size and dtype;
* ``pixels.bin``: the decoded ``(S, S)`` images of the successful plan images, back to back, in
  plan order (append-only);
* ``journal.jsonl``: one JSON line per completed *unit* (lumps sharing images): each image's
  metadata or quarantine reason, each lump's scrubbed report and header-derived fields. A line is
  written after the unit's pixels, so a line on disk means the unit is complete. Identifiers are
  never written (reports are scrubbed before the line is written).

After a kill (SIGKILL at any point) :meth:`WorkDir.open` (``--resume``) keeps the complete
journal lines whose pixels are on disk, truncates the rest, and the run continues with the next
unit: the result equals an uninterrupted run byte for byte in pixels and tables.

:func:`write_final` streams the store (schema :mod:`mvkl.store.schema`) into the work directory,
checks it with :func:`mvkl.store.check_store` and renames it atomically to the final path.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkl import __version__
from mvkl.errors import InputError, MvklError
from mvkl.fsutil import display_path
from mvkl.ingest.records import LESION_KINDS

__all__ = ["WorkDir", "partial_dir", "write_final"]

JOURNAL_VERSION = 1


def partial_dir(out: Path) -> Path:
    """The work directory of an ingest writing ``out``."""
    return out.with_name(out.name + ".partial")


@dataclass
class WorkDir:
    """The work directory of one ingest: plan header, pixel file and journal."""

    path: Path
    fingerprint: str
    image_size: int
    pixel_dtype: str
    units: list[dict[str, Any]]
    n_pixels: int
    _pix: Any = None
    _jnl: Any = None
    _last_sync: float = 0.0

    # -- lifetime ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, fingerprint: str, image_size: int, pixel_dtype: str, resume: bool) -> WorkDir:
        """Create a fresh work directory, or reopen one for ``--resume``.

        Raises:
            InputError: a work directory exists and ``resume`` is False, or it belongs to a
                different plan (other inputs or options).
        """
        plan_file = path / "plan.json"
        if path.exists() and not resume:
            raise InputError(f"an interrupted ingest exists ({display_path(path)}); pass --resume to continue it "
                             "or --overwrite to start over", code="partial-exists")
        units: list[dict[str, Any]] = []
        n_pixels = 0
        if path.exists() and plan_file.is_file():
            try:
                head = json.loads(plan_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                head = {}
            if head.get("fingerprint") != fingerprint:
                raise InputError("the interrupted ingest was started with other inputs or options (plan "
                                 "fingerprint differs); rerun it with the same ones, or pass --overwrite to "
                                 "start over", code="plan-mismatch")
            units, n_pixels = cls._recover(path, image_size, np.dtype(pixel_dtype).itemsize)
        else:
            if path.exists():
                shutil.rmtree(path)
            path.mkdir(parents=True)
            tmp = path / "plan.json.tmp"
            tmp.write_text(json.dumps({"fingerprint": fingerprint, "image_size": image_size,
                                       "pixel_dtype": pixel_dtype, "journal_version": JOURNAL_VERSION,
                                       "mvkl_version": __version__}), encoding="utf-8")
            os.replace(tmp, plan_file)
            (path / "journal.jsonl").touch()
            (path / "pixels.bin").touch()
        wd = cls(path, fingerprint, image_size, pixel_dtype, units, n_pixels)
        wd._pix = open(path / "pixels.bin", "r+b")  # noqa: SIM115 - closed in close()
        wd._pix.seek(n_pixels * wd.frame_bytes)
        wd._jnl = open(path / "journal.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        return wd

    @staticmethod
    def _recover(path: Path, size: int, itemsize: int) -> tuple[list[dict[str, Any]], int]:
        """Keep the complete journal lines whose pixels are on disk; truncate the rest."""
        frame = size * size * itemsize
        pix = path / "pixels.bin"
        have = pix.stat().st_size // frame if pix.exists() else 0
        units: list[dict[str, Any]] = []
        n = 0
        with contextlib.suppress(FileNotFoundError), open(path / "journal.jsonl", encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    entry = json.loads(line)
                except ValueError:
                    break
                k = sum(1 for im in entry["images"] if im["ok"])
                if entry.get("u") != len(units) or n + k > have:
                    break
                units.append(entry)
                n += k
        tmp = path / "journal.jsonl.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for entry in units:
                f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path / "journal.jsonl")
        if not pix.exists():
            pix.touch()
        with open(pix, "r+b") as f:
            f.truncate(n * frame)
        return units, n

    def close(self) -> None:
        for fh in (self._pix, self._jnl):
            if fh is not None:
                with contextlib.suppress(OSError):
                    fh.flush()
                    os.fsync(fh.fileno())
                fh.close()
        self._pix = self._jnl = None

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    # -- writing ----------------------------------------------------------------------------
    @property
    def frame_bytes(self) -> int:
        return self.image_size * self.image_size * np.dtype(self.pixel_dtype).itemsize

    def commit(self, entry: dict[str, Any], pixels: Sequence[np.ndarray]) -> None:
        """Append one unit: its pixels first, then its journal line (the commit point)."""
        if entry["u"] != len(self.units):
            raise MvklError(f"journal out of order: unit {entry['u']} after {len(self.units)} units")
        dt = np.dtype(self.pixel_dtype)
        for px in pixels:
            a = np.ascontiguousarray(px, dtype=dt)
            if a.shape != (self.image_size, self.image_size):
                raise MvklError(f"decoded image has shape {a.shape}, expected {(self.image_size,) * 2}")
            self._pix.write(a.tobytes())
        self._pix.flush()
        self._jnl.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self._jnl.flush()
        now = time.monotonic()
        if now - self._last_sync > 2.0:  # a kill loses nothing flushed; fsync guards power loss
            os.fsync(self._pix.fileno())
            os.fsync(self._jnl.fileno())
            self._last_sync = now
        self.units.append(entry)
        self.n_pixels += len(pixels)

    def pixels(self) -> np.ndarray:
        """All committed pixels as a read-only memory map ``(n, S, S)``."""
        self._pix.flush()
        if self.n_pixels == 0:
            return np.zeros((0, self.image_size, self.image_size), dtype=self.pixel_dtype)
        return np.memmap(self.path / "pixels.bin", dtype=self.pixel_dtype, mode="r",
                         shape=(self.n_pixels, self.image_size, self.image_size))


def _json_attr(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


def _blocks(n: int, step: int) -> Iterator[tuple[int, int]]:
    for a in range(0, n, step):
        yield a, min(n, a + step)


def write_final(
    out: Path,
    work: Path,
    lumps: Mapping[str, Any],
    images: Mapping[str, Any],
    pixel_parts: Sequence[Any],
    attrs: Mapping[str, Any],
    image_size: int,
    pixel_dtype: str,
    lesions: Mapping[str, np.ndarray] | None = None,
) -> list[str]:
    """Write the store to ``work/store.h5``, check it, and rename it to ``out`` atomically.

    Args:
        lumps: every :data:`~mvkl.store.schema.LUMP_FIELDS` field (``report`` as str).
        images: every :data:`~mvkl.store.schema.IMAGE_FIELDS` field except the derived split and
            label.
        pixel_parts: arrays (or h5py datasets) ``(k, S, S)`` concatenated in order.
        attrs: root attributes (JSON attributes as Python objects).
        lesions: the ``/lesions`` group (:data:`~mvkl.store.schema.LESION_FIELDS`); None or no
            rows: no group is written.

    Returns:
        ``check_store`` violations (empty when the store is valid; a non-empty list means
        nothing was written at ``out``).
    """
    import h5py

    from mvkl.manifest.schema import dim_keys
    from mvkl.store import schema as SC
    from mvkl.store.io import check_store, derive_image_fields

    n_img = sum(int(p.shape[0]) for p in pixel_parts)
    n = len(lumps["label"])
    derived = derive_image_fields(lumps, n_img)
    root: dict[str, Any] = {
        "mvkl_format": SC.FORMAT_VERSION, "mvkl_version": __version__, "image_size": int(image_size),
        "pixel_dtype": str(pixel_dtype), "manifest_keys": dim_keys(), "view_codes": list(SC.VIEW_CODES),
        "laterality_codes": list(SC.LATERALITY_CODES), "split_names": list(SC.SPLIT_NAMES),
        "label_names": {str(k): v for k, v in SC.LABEL_NAMES.items()}, "deid": {}, "sources": [],
        "split_policy": {}, "extra": {}, "key_fingerprint": "", "views": "whole",
        "lesion_kinds": list(LESION_KINDS),
    }
    root.update(attrs)
    tmp = work / "store.h5"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    with h5py.File(tmp, "w") as f:
        for k, v in root.items():
            f.attrs[k] = _json_attr(v) if k in SC.ROOT_JSON_ATTRS else v
        gi = f.create_group("images")
        s = int(image_size)
        ds = gi.create_dataset("pixels", shape=(n_img, s, s), dtype=pixel_dtype,
                               chunks=(1, s, s) if n_img else None)
        at = 0
        for part in pixel_parts:
            for a, b in _blocks(int(part.shape[0]), 256):
                ds[at + a:at + b] = np.asarray(part[a:b])
            at += int(part.shape[0])
        for name, (dt, shape) in SC.IMAGE_FIELDS.items():
            data = derived[name] if name in derived else np.asarray(images[name])
            gi.create_dataset(name, data=np.asarray(data, dtype=dt).reshape((n_img, *shape)))
        gl = f.create_group("lumps")
        for name, (dt, shape) in SC.LUMP_FIELDS.items():
            if dt == "str":
                gl.create_dataset(name, data=[str(x) for x in lumps[name]], dtype=h5py.string_dtype("utf-8"),
                                  shape=(n,))
            else:
                gl.create_dataset(name, data=np.asarray(lumps[name], dtype=dt).reshape((n, *shape)))
        if lesions is not None and len(lesions["image"]):
            gles = f.create_group("lesions")
            for name, (dt, shape) in SC.LESION_FIELDS.items():
                gles.create_dataset(name, data=np.asarray(lesions[name], dtype=dt).reshape((-1, *shape)))
    violations = check_store(tmp)
    if violations:
        return violations
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    return []
