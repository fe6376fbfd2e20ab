"""Benchmark `mvkl bench synth`: synthetic study generation at demo and MVKL scale.

Times ``mvkl.synth.generate`` on a subset of exams (full pipeline: rendering, DICOM and table
writing) and extrapolates linearly to the MVKL scale (2,671 exams); the extrapolation is labelled
as such. Drawing the cases without pixels (manifestations, labels, reports) is timed at full scale,
and the modality glance of paper Table 3 is measured on those cases.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from mvkl.bench import machine_info

MVKL_EXAMS = 2671


def run(exams: int = 24, image_size: int = 1024, workers: int | None = None, target: int = MVKL_EXAMS,
        seed: int = 0, lang: str = "en", glance: bool = True) -> dict[str, Any]:
    """Measure and extrapolate (see module docstring)."""
    from mvkl.synth import draw_cases, generate

    t0 = time.perf_counter()
    cases = draw_cases(target, seed=seed, lang=lang)
    t_cases = time.perf_counter() - t0
    doc: dict[str, Any] = {"bench": "synth", "image_size": image_size, "lang": lang,
                           "cases_only": {"exams": target, "lumps": len(cases.lumps), "seconds": round(t_cases, 3)}}
    if glance:
        from mvkl.synth.signal import modality_glance

        t1 = time.perf_counter()
        doc["glance"] = modality_glance(cases)
        doc["glance"]["seconds"] = round(time.perf_counter() - t1, 3)
    with tempfile.TemporaryDirectory(prefix="mvkl-bench-synth-") as tmp:
        generate(Path(tmp) / "warmup", exams=1, seed=seed, lang=lang, image_size=image_size, workers=1)
        t2 = time.perf_counter()
        summary = generate(Path(tmp) / "out", exams=exams, seed=seed, lang=lang, image_size=image_size,
                           workers=workers)
        t_gen = time.perf_counter() - t2
    per_exam = t_gen / exams
    doc["measured"] = {"exams": exams, "images": summary["images"], "workers": workers or "auto",
                       "seconds": round(t_gen, 3), "seconds_per_exam": round(per_exam, 4),
                       "exams_per_second": round(exams / t_gen, 3),
                       "images_per_second": round(summary["images"] / t_gen, 2),
                       "mib_per_exam": round(summary["bytes"] / exams / 2**20, 3)}
    doc["extrapolated_to_target"] = {"exams": target, "seconds": round(per_exam * target, 1),
                                     "gib": round(summary["bytes"] / exams * target / 2**30, 2),
                                     "note": f"linear extrapolation from {exams} measured exams"}
    doc["machine"] = machine_info()
    return doc
