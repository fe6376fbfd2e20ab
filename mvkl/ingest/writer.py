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

The journal proves itself (issue 18 item 5): ``plan.json`` carries ``sha``, a checksum of its
other fields, and every journal line carries ``px`` (SHA-256 of the unit's pixel bytes) and
``sha``, a checksum chained over the previous line's (the first over the plan's), so that a line
edited, dropped, reordered or moved to another plan fails. The checksums are keyed by a secret the
pipeline derives from the pseudonym key. A damaged or edited journal, plan header or
pixel file is refused (exit 2, code ``journal-damaged``, hint ``--overwrite``); only the torn tail
a kill can leave (a last line without its newline, pixels beyond the last line, a last unit whose
pixels were not all written) is cut off and redone.

:func:`write_final` streams the store (schema :mod:`mvkl.store.schema`) into the work directory,
checks it with :func:`mvkl.store.check_store` and renames it atomically to the final path.
"""

from __future__ import annotations

import contextlib
import hashlib
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

__all__ = ["SOURCE_KEY_PATH", "WorkDir", "partial_dir", "write_final"]

#: Per image, the keyed identity of its source (SOP Instance UID, else pixels; ``--append`` skips
#: images already in the store). Outside the store schema's groups; readers ignore it.
SOURCE_KEY_PATH = "ingest/source_key"

JOURNAL_VERSION = 2  # 2: checksummed plan header and journal lines


def _canon(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def _chain(secret: str, prev: str, obj: Any) -> str:
    """Keyed, chained checksum of one record (``prev``: the previous record's checksum)."""
    return hashlib.sha256(f"{secret}\x1e{prev}\x1e{_canon(obj)}".encode()).hexdigest()


def _damaged(path: Path, what: str) -> InputError:
    return InputError(f"the interrupted ingest's work directory is damaged or was edited ({what}); it cannot "
                      "be resumed. Pass --overwrite to discard it and start over", file=display_path(path),
                      code="journal-damaged")


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
    secret: str = ""  # key of the checksums (derived from the pseudonym key)
    _pix: Any = None
    _jnl: Any = None
    _last_sync: float = 0.0
    _last_sha: str = ""

    # -- lifetime ---------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, fingerprint: str, image_size: int, pixel_dtype: str, resume: bool,
             secret: str = "") -> WorkDir:
        """Create a fresh work directory, or reopen one for ``--resume``.

        ``secret`` keys the checksums of the plan header and the journal lines.

        Raises:
            InputError: a work directory exists and ``resume`` is False, it belongs to a
                different plan (other inputs or options), or it is damaged or was edited.
        """
        plan_file = path / "plan.json"
        if path.exists() and not resume:
            raise InputError(f"an interrupted ingest exists ({display_path(path)}); pass --resume to continue it "
                             "or --overwrite to start over", code="partial-exists")
        units: list[dict[str, Any]] = []
        n_pixels = 0
        head_sha = ""
        if path.exists() and plan_file.is_file():
            head = cls._read_head(plan_file, secret, fingerprint)
            if head.get("image_size") != image_size or head.get("pixel_dtype") != pixel_dtype:
                raise _damaged(plan_file, "the plan header's image size or dtype differs from the plan")
            head_sha = str(head["sha"])
            units, n_pixels, last = cls._recover(path, image_size, np.dtype(pixel_dtype).itemsize, secret, head_sha)
        else:
            if path.exists():
                shutil.rmtree(path)
            path.mkdir(parents=True)
            tmp = path / "plan.json.tmp"
            head = {"fingerprint": fingerprint, "image_size": image_size, "pixel_dtype": pixel_dtype,
                    "journal_version": JOURNAL_VERSION, "mvkl_version": __version__}
            head["sha"] = head_sha = _chain(secret, "plan", head)
            tmp.write_text(json.dumps(head), encoding="utf-8")
            os.replace(tmp, plan_file)
            (path / "journal.jsonl").touch()
            (path / "pixels.bin").touch()
            last = head_sha
        wd = cls(path, fingerprint, image_size, pixel_dtype, units, n_pixels, secret)
        wd._last_sha = last
        wd._pix = open(path / "pixels.bin", "r+b")  # noqa: SIM115 - closed in close()
        wd._pix.seek(n_pixels * wd.frame_bytes)
        wd._jnl = open(path / "journal.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        return wd

    @staticmethod
    def _read_head(plan_file: Path, secret: str, fingerprint: str) -> dict[str, Any]:
        """The checked plan header (raises :func:`_damaged`, a plan mismatch or a version error)."""
        try:
            head = json.loads(plan_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            raise _damaged(plan_file, "the plan header is not readable JSON") from None
        if not isinstance(head, dict):
            raise _damaged(plan_file, "the plan header is not a JSON object")
        if head.get("fingerprint") != fingerprint:
            raise InputError("the interrupted ingest was started with other inputs or options (plan "
                             "fingerprint differs); rerun it with the same ones, or pass --overwrite to "
                             "start over", code="plan-mismatch")
        if head.get("journal_version") != JOURNAL_VERSION:
            raise InputError(f"the interrupted ingest was written by another mvkl version (journal version "
                             f"{head.get('journal_version')!r}, this one writes {JOURNAL_VERSION}); pass "
                             "--overwrite to start over", file=display_path(plan_file), code="journal-version")
        body = {k: v for k, v in head.items() if k != "sha"}
        if head.get("sha") != _chain(secret, "plan", body):
            raise _damaged(plan_file, "the plan header's checksum does not match")
        return head

    @staticmethod
    def _recover(path: Path, size: int, itemsize: int, secret: str,
                 head_sha: str) -> tuple[list[dict[str, Any]], int, str]:
        """Check every journal line and its pixels; keep them, cut off the torn tail of a kill.

        Returns the units, the number of frames kept and the last checksum of the chain.
        """
        frame = size * size * itemsize
        pix = path / "pixels.bin"
        have = pix.stat().st_size // frame if pix.exists() else 0
        jpath = path / "journal.jsonl"
        units: list[dict[str, Any]] = []
        n = 0
        prev = head_sha
        try:
            raw = jpath.read_bytes()
        except FileNotFoundError:
            raw = b""
        lines = raw.split(b"\n")
        torn = lines.pop()  # b"" after a final newline; otherwise the torn last write of a kill
        del torn
        with contextlib.ExitStack() as stack:
            pf = stack.enter_context(open(pix, "rb")) if pix.exists() else None
            for lineno, line in enumerate(lines, 1):
                try:
                    entry = json.loads(line.decode("utf-8"))
                    sha = entry.pop("sha")
                    ok = isinstance(entry, dict) and sha == _chain(secret, prev, entry)
                except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
                    ok = False
                if not ok or entry.get("u") != len(units):
                    raise _damaged(jpath, f"line {lineno}: checksum or sequence does not match")
                k = sum(1 for im in entry["images"] if im["ok"])
                if n + k > have:
                    if lineno != len(lines):
                        raise _damaged(pix, f"the pixels of unit {entry['u']} are missing")
                    break  # the last unit's pixels were not all written: redo it
                if pf is not None:
                    pf.seek(n * frame)
                    digest = hashlib.sha256(pf.read(k * frame)).hexdigest()
                else:
                    digest = hashlib.sha256(b"").hexdigest()
                if digest != entry.get("px"):
                    raise _damaged(pix, f"the pixels of unit {entry['u']} do not match their checksum")
                entry["sha"] = sha
                units.append(entry)
                prev = sha
                n += k
        tmp = path / "journal.jsonl.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for entry in units:
                f.write(_canon(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, jpath)
        if not pix.exists():
            pix.touch()
        with open(pix, "r+b") as f:
            f.truncate(n * frame)
        return units, n, prev

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
        digest = hashlib.sha256()
        for px in pixels:
            a = np.ascontiguousarray(px, dtype=dt)
            if a.shape != (self.image_size, self.image_size):
                raise MvklError(f"decoded image has shape {a.shape}, expected {(self.image_size,) * 2}")
            data = a.tobytes()
            digest.update(data)
            self._pix.write(data)
        self._pix.flush()
        entry = {k: v for k, v in entry.items() if k != "sha"}
        entry["px"] = digest.hexdigest()
        entry["sha"] = sha = _chain(self.secret, self._last_sha, entry)
        self._jnl.write(_canon(entry) + "\n")
        self._jnl.flush()
        now = time.monotonic()
        if now - self._last_sync > 2.0:  # a kill loses nothing flushed; fsync guards power loss
            os.fsync(self._pix.fileno())
            os.fsync(self._jnl.fileno())
            self._last_sync = now
        self.units.append(entry)
        self._last_sha = sha
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
    source_keys: Sequence[str] | None = None,
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
        source_keys: one keyed source identity per image (:data:`SOURCE_KEY_PATH`); None: none.

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
        if source_keys is not None and len(source_keys) == n_img:
            f.create_dataset(SOURCE_KEY_PATH, data=[str(k) for k in source_keys], dtype=h5py.string_dtype("utf-8"),
                             shape=(n_img,))
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
