"""Typer shells of the paper's evaluation benchmarks filed under `mvkl bench`: ``cross-dataset``
(Table 4, :mod:`mvkl.evaluation.protocols.crossdataset`) and ``data-fraction`` (Fig. 5,
:mod:`mvkl.evaluation.protocols.datafraction`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl import log
from mvkl.bench.render import render_grid
from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.cli.eval_cmd import (
    ArchOpt,
    BatchOpt,
    DeviceOpt,
    EpochsOpt,
    ImageSizeOpt,
    ImageWeightsOpt,
    LrOpt,
    PatienceOpt,
    PresetOpt,
    SeedsOpt,
    SettingOpt,
    WorkersOpt,
    build_config,
    pick_preset,
)
from mvkl.errors import InputError

__all__ = ["register", "split_list"]


def split_list(text: str, what: str) -> list[str]:
    """The items of a comma-separated option; an :class:`InputError` naming ``what`` if it must not
    be empty (``what`` is ``""`` for an optional list)."""
    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    if not items and what:
        raise InputError(f"{what}: give a comma-separated list", code="option")
    return items


def _cell(r: dict[str, Any], c: str) -> str:
    """One grid cell, mean ± std in % (mvkl.evaluation is imported only when a table is drawn)."""
    from mvkl.evaluation.aggregate import format_pm

    return format_pm(r["cells"][c]["mean"], r["cells"][c]["std"])


def _cross_dataset(app: typer.Typer) -> None:
    @app.command("cross-dataset", epilog=example(
        "mvkl bench cross-dataset --models runs/vikl --stores mvkl.h5,cbis.h5,inbreast.h5 --supervised-baselines",
        "mvkl bench cross-dataset --models random:resnet18 --stores a.h5,b.h5 --preset tiny --supervised-baselines "
        "--baseline-init random:resnet18"))
    @command
    def cross_dataset(
        stores: Annotated[str, typer.Option("--stores", help="Comma-separated evaluation stores (columns).")],
        models: Annotated[str, typer.Option("--models", help="Comma-separated encoders (rows): run directories, "
                                            "exports, imagenet, random.")] = "",
        protocol: Annotated[str, typer.Option("--protocol", "-p", help="Downstream protocol (paper: lp).")] = "lp",
        supervised_baselines: Annotated[bool, typer.Option("--supervised-baselines", help="Add one row per store: "
                                        "--baseline-init fine-tuned on that store (the paper's supervised rows).")
                                        ] = False,
        baseline_init: Annotated[str, typer.Option("--baseline-init", help="Start of the supervised rows (paper: "
                                                   "imagenet).")] = "imagenet",
        preset: PresetOpt = "paper", setting: SettingOpt = None, seeds: SeedsOpt = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("cross-dataset"),
        arch: ArchOpt = "resnet50", image_weights: ImageWeightsOpt = None, image_size: ImageSizeOpt = None,
        epochs: EpochsOpt = None, patience: PatienceOpt = None, batch_size: BatchOpt = None, lr: LrOpt = None,
        device: DeviceOpt = "auto", workers: WorkersOpt = -1, json_out: JsonOpt = False, quiet: QuietOpt = False,
    ) -> None:
        """Cross-dataset evaluation (paper Table 4): rows = pretraining sources, columns = evaluation stores."""
        from mvkl.evaluation.protocols.crossdataset import run_cross_dataset

        common = {"image_size": image_size, "epochs": epochs, "patience": patience, "batch_size": batch_size,
                  "device": device, "workers": workers}
        preset = pick_preset(preset, setting)
        cfg = build_config(protocol, preset, seeds, lr=lr, **common)
        ft_cfg = build_config("ft", preset, 1, save_model=False, **common) if supervised_baselines else None
        with log.progress(transient=True) as prog:
            doc = run_cross_dataset(split_list(models, ""), split_list(stores, "--stores"), cfg, out,
                                    supervised_baselines=supervised_baselines, baseline_init=baseline_init,
                                    ft_cfg=ft_cfg, arch=arch, progress=prog,
                                    image_weights=str(image_weights) if image_weights else None)
        emit(doc, json_out, lambda: render_grid(
            doc, "pretraining ↓ / evaluation →", doc["columns"], _cell,
            f"Cross-dataset {doc['protocol'].upper()}: test AUC % (mean ± std over {len(doc['seeds'])} seeds)"))


def _data_fraction(app: typer.Typer) -> None:
    @app.command("data-fraction", epilog=example(
        "mvkl bench data-fraction --models runs/vikl,imagenet --store demo.h5",
        "mvkl bench data-fraction --models random:resnet18 --store demo.h5 --preset tiny --fractions 0.5,1"))
    @command
    def data_fraction(
        store: Annotated[Path, typer.Option("--store", help="The store (train / val / test splits).")],
        models: Annotated[str, typer.Option("--models", help="Comma-separated encoders.")],
        fractions: Annotated[str, typer.Option("--fractions", help="Training fractions.")] = "0.2,0.4,0.6,0.8,1.0",
        protocol: Annotated[str, typer.Option("--protocol", "-p", help="Protocol (paper: ft).")] = "ft",
        preset: PresetOpt = "paper", setting: SettingOpt = None, seeds: SeedsOpt = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("data-fraction"),
        arch: ArchOpt = "resnet50", image_weights: ImageWeightsOpt = None, image_size: ImageSizeOpt = None,
        epochs: EpochsOpt = None, patience: PatienceOpt = None, batch_size: BatchOpt = None, lr: LrOpt = None,
        device: DeviceOpt = "auto", workers: WorkersOpt = -1, json_out: JsonOpt = False, quiet: QuietOpt = False,
    ) -> None:
        """Fine-tuning on 20/40/60/80/100 % of the training split (paper Fig. 5), with the plot."""
        from mvkl.evaluation.protocols.config import parse_floats
        from mvkl.evaluation.protocols.datafraction import run_data_fraction

        cfg = build_config(protocol, pick_preset(preset, setting), seeds, lr=lr, image_size=image_size, epochs=epochs,
                           patience=patience,
                           batch_size=batch_size, device=device, workers=workers)
        with log.progress(transient=True) as prog:
            doc = run_data_fraction(split_list(models, "--models"), store, cfg, out,
                                    fractions=parse_floats(fractions, "--fractions"), arch=arch,
                                    image_weights=str(image_weights) if image_weights else None, progress=prog)
        cols = [f"{f:g}" for f in doc["fractions"]]
        emit(doc, json_out, lambda: render_grid(
            doc, "model", cols, _cell,
            f"{doc['protocol'].upper()} by training fraction: test AUC % (mean ± std over {len(doc['seeds'])} seeds)"))


def register(app: typer.Typer) -> None:
    """Add `mvkl bench cross-dataset` and `mvkl bench data-fraction` to the bench Typer app."""
    _cross_dataset(app)
    _data_fraction(app)
