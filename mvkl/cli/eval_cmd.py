"""`mvkl eval`: linear probe / linear evaluation / fine-tuning of an image encoder, with calibration.

Parses options, calls :func:`mvkl.evaluation.protocols.run_eval` and renders the result. The
option types defined here are shared with `mvkl bench cross-dataset|data-fraction|eval`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example

_T = "Training (LE/FT)"
_L = "Linear probe (LP)"
_M = "Metrics and calibration"
_R = "Resources"

PresetOpt = Annotated[str, typer.Option("--preset", help="paper (Appendix A hyperparameters) or tiny (minutes on "
                                                         "a CPU: few epochs, small patience, ≤ 64 px).")]
#: The old name of --preset, still accepted (hidden from --help).
SettingOpt = Annotated[str | None, typer.Option("--setting", hidden=True, help="Old name of --preset.")]
SeedsOpt = Annotated[int | None, typer.Option("--seeds", help="Run seeds 0..N-1 (default: paper 5, tiny 2); results "
                                                             "are mean ± sample std (ddof 1).")]
ArchOpt = Annotated[str, typer.Option("--arch", help="Trunk for imagenet/random/weights files: resnet50, resnet18 or "
                                                    "cnn4 "
                                                    "(run directories and exports name their own).")]
ImageWeightsOpt = Annotated[Path | None, typer.Option("--image-weights", help="ImageNet weights file for MODEL "
                                                     "'imagenet' (default: the torch hub cache; never downloaded).")]
ImageSizeOpt = Annotated[int | None, typer.Option("--image-size", help="Input side in px (default: the encoder "
                                                 "card's, else 256; tiny ≤ 64).")]
EpochsOpt = Annotated[int | None, typer.Option("--epochs", help="Maximum epochs (paper 1000).", rich_help_panel=_T)]
PatienceOpt = Annotated[int | None, typer.Option("--patience", help="Early-stopping patience in epochs on validation "
                                                "AUC (paper 100).", rich_help_panel=_T)]
BatchOpt = Annotated[int | None, typer.Option("--batch-size", help="Training batch size (paper 48).",
                                              rich_help_panel=_T)]
LrOpt = Annotated[float | None, typer.Option("--lr", help="Peak learning rate of the head (paper: LE 1e-3, FT 5e-5).",
                                             rich_help_panel=_T)]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.", rich_help_panel=_R)]
WorkersOpt = Annotated[int, typer.Option("--workers", help="DataLoader workers (-1: automatic).", rich_help_panel=_R)]


def pick_preset(preset: str, setting: str | None, default: str = "paper") -> str:
    """The evaluation preset from ``--preset`` and its hidden old name ``--setting``; both given and
    different is a usage error (exit 2)."""
    from mvkl.errors import InputError

    if setting is None:
        return preset
    if preset not in (default, setting):
        raise InputError(f"--preset {preset} and --setting {setting} disagree (--setting is the old name of "
                         "--preset: give one)", code="usage")
    return setting


def build_config(protocol: str, setting: str, seeds: int | None, *, lp_lambda: float | None = None,
                 **overrides: Any) -> Any:
    """:func:`mvkl.evaluation.protocols.config.resolve_config` (None values keep the setting's default)."""
    from mvkl.evaluation.protocols.config import resolve_config

    return resolve_config(protocol, setting, seeds=seeds, lp_lambda=lp_lambda, **overrides)


def _pm(agg: dict[str, Any], key: str, scale: float = 100.0, digits: int = 2) -> str:
    from mvkl.evaluation.aggregate import format_pm

    a = agg.get(key)
    return format_pm(a["mean"], a["std"], scale, digits) if a else "n/a"


def _render(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    con = stdout_console()
    agg, cfg = doc["aggregate"], doc["config"]
    f = lambda v: "n/a" if v is None or v != v else f"{100 * v:.1f}"  # noqa: E731
    ece = lambda v: "n/a" if v is None or v != v else f"{v:.3f}"  # noqa: E731

    def pm(key: str, scale: float = 100.0, digits: int = 1) -> str:
        a = agg.get(key)
        if not a or a["mean"] is None or a["mean"] != a["mean"]:
            return "n/a"
        sd = "n/a" if a["std"] is None or a["std"] != a["std"] else f"{scale * a['std']:.{digits}f}"
        return f"{scale * a['mean']:.{digits}f}±{sd}"

    trained = doc["protocol"] != "lp"
    t = Table(title=f"{doc['name']}: {doc['protocol'].upper()} on {doc['store']['name']} ({doc['setting']}, "
                    f"{doc['image_size']} px), AUC %")
    heads = ["seed", "train imgs", *(["best epoch"] if trained else []), "val AUC", "test AUC", "95% CI", "ECE"]
    for c in heads:
        t.add_column(c, justify="right", no_wrap=c in ("val AUC", "test AUC", "95% CI", "ECE"))
    for r in doc["runs"]:
        m = r["metrics"]
        lo, hi = m["test"]["auc_ci"]
        t.add_row(str(r["seed"]), str(r["train_images"]), *([str(r["fit"].get("best_epoch"))] if trained else []),
                  f(m["val"]["auc"]), f(m["test"]["auc"]), f"{f(lo)}–{f(hi)}", ece(m["calibration"]["ece_paper"]))
    t.add_row("mean±sd", "", *([""] if trained else []), pm("val.auc"), pm("test.auc"), "",
              pm("calibration.ece_paper", 1.0, 3))
    con.print(t)
    tt = Table(title="test metrics by threshold, % (Tables 3 and 7; malignant when p ≥ t)")
    for c in ("threshold", "accuracy", "sensitivity", "specificity", "F1"):
        tt.add_column(c, justify="right")
    for thr in cfg["thresholds"]:
        k = f"test.thresholds@{float(thr):g}."
        tt.add_row(f"{float(thr):g}", _pm(agg, k + "accuracy"), _pm(agg, k + "sensitivity"),
                   _pm(agg, k + "specificity"), _pm(agg, k + "f1"))
    con.print(tt)
    if doc.get("lp_variance_note"):
        con.print(doc["lp_variance_note"])
    con.print(f"ECE: {cfg['calibration_definition']} definition, {cfg['ece_bins']} bins, bins with < "
              f"{cfg['ece_min_count']} samples excluded. Results in {doc.get('out', '?')}")


def register(root: typer.Typer) -> None:
    """Add `mvkl eval` to the root app."""

    @root.command("eval", epilog=example(
        "mvkl eval runs/vikl demo.h5 --protocol lp",
        "mvkl eval runs/vikl demo.h5 --protocol ft --seeds 5 --thresholds 0.87,0.74,0.5 --save-model",
        "mvkl eval imagenet demo.h5 --protocol le --preset tiny --arch resnet18 --image-weights resnet18.pth",
        "mvkl eval random:resnet18 demo.h5 --protocol ft --preset tiny --fraction 0.4 --json"))
    @command
    def eval_cmd(
        model: Annotated[str, typer.Argument(help="Pretraining run directory, exported encoder directory, weights "
                                                  "file, imagenet[:ARCH] or random[:ARCH[:SEED]].")],
        store: Annotated[Path, typer.Argument(help="HDF5 store (mvkl ingest).")],
        protocol: Annotated[str, typer.Option("--protocol", "-p", help="lp (linear probe), le (linear evaluation) "
                                                                       "or ft (fine-tuning).")] = "lp",
        preset: PresetOpt = "paper",
        setting: SettingOpt = None,
        seeds: SeedsOpt = None,
        fraction: Annotated[float, typer.Option("--fraction", help="Train on this fraction of the training split "
                                                "(seeded, stratified, patient-aware).")] = 1.0,
        thresholds: Annotated[str, typer.Option("--thresholds", help="Comma-separated thresholds for the threshold "
                                                "metrics (0.5 is always added); 0.87,0.74,0.5 gives Table 7.",
                                                rich_help_panel=_M)] = "0.5",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Results directory (default: MODEL/eval-"
                                                 "<protocol> for a directory, else <name>/eval-<protocol>).")] = None,
        name: Annotated[str | None, typer.Option("--name", help="Model name in tables (default: from MODEL).")] = None,
        arch: ArchOpt = "resnet50",
        image_weights: ImageWeightsOpt = None,
        image_size: ImageSizeOpt = None,
        epochs: EpochsOpt = None,
        patience: PatienceOpt = None,
        batch_size: BatchOpt = None,
        lr: LrOpt = None,
        min_lr: Annotated[float | None, typer.Option("--min-lr", help="Cosine floor (paper: LE 1e-6, FT 5e-7).",
                                                     rich_help_panel=_T)] = None,
        weight_decay: Annotated[float | None, typer.Option("--weight-decay", help="Adam L2 weight decay (paper: LE "
                                                           "1e-6, FT 5e-5).", rich_help_panel=_T)] = None,
        backbone_lr_mult: Annotated[float | None, typer.Option("--backbone-lr-mult", help="FT backbone LR = head LR × "
                                    "this (default: 0.1 for pretrained checkpoints, 1 for imagenet/random).",
                                    rich_help_panel=_T)] = None,
        bn_mode: Annotated[str, typer.Option("--bn-mode", help="LE trunk BatchNorm: frozen (eval mode, default) or "
                                             "train (released code: statistics drift).",
                                             rich_help_panel=_T)] = "frozen",
        augment: Annotated[str, typer.Option("--augment", help="Training augmentation: fixed (B27 "
                                             "fixes), compat (released code) or none.", rich_help_panel=_T)] = "fixed",
        lp_c: Annotated[float | None, typer.Option("--lp-c", help="scikit-learn C (default 0.316 = 1/λ with the "
                                                   "paper's λ = 3.16).", rich_help_panel=_L)] = None,
        lp_lambda: Annotated[float | None, typer.Option("--lp-lambda", help="L2 strength λ; sets C = 1/λ.",
                                                        rich_help_panel=_L)] = None,
        lp_variance: Annotated[str, typer.Option("--lp-variance", help="bootstrap (each seed fits on a seeded "
                                                 "bootstrap of the training images) or none (one fit).",
                                                 rich_help_panel=_L)] = "bootstrap",
        lp_standardize: Annotated[bool, typer.Option("--lp-standardize/--no-lp-standardize", help="Standardise "
                                                     "features with training statistics.", rich_help_panel=_L)] = True,
        calibration_definition: Annotated[str, typer.Option("--calibration-definition", help="top-label (confidence "
                                          "max(p, 1-p)) or positive (P(malignant)).",
                                          rich_help_panel=_M)] = "top-label",
        n_boot: Annotated[int | None, typer.Option("--n-boot", help="Bootstrap replicates of the test-AUC CI.",
                                                   rich_help_panel=_M)] = None,
        save_model: Annotated[bool, typer.Option("--save-model", help="Save the best-validation seed's classifier "
                                                 "in OUT/classifier (for mvkl predict / cam).")] = False,
        device: DeviceOpt = "auto",
        workers: WorkersOpt = -1,
        amp: Annotated[bool, typer.Option("--amp/--no-amp", help="bf16 autocast on CUDA.", rich_help_panel=_R)] = True,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Linear probe / linear evaluation / fine-tuning of an image encoder on a store, with calibration.

        Whole single-view images are classified benign/malignant (an image showing a malignant lump is
        malignant; unknown labels are excluded). Writes results.json, results.md, predictions.parquet,
        roc.png and reliability.png to the results directory.
        """
        from mvkl import log
        from mvkl.evaluation.protocols.config import parse_floats
        from mvkl.evaluation.protocols.runner import run_eval
        from mvkl.fsutil import display_path

        cfg = build_config(protocol, pick_preset(preset, setting), seeds, lp_lambda=lp_lambda, fraction=fraction,
                           thresholds=parse_floats(thresholds, "--thresholds") or (0.5,), image_size=image_size,
                           epochs=epochs, patience=patience, batch_size=batch_size, lr=lr, min_lr=min_lr,
                           weight_decay=weight_decay, backbone_lr_mult=backbone_lr_mult, bn_mode=bn_mode,
                           augment=augment, lp_c=lp_c, lp_variance=lp_variance, lp_standardize=lp_standardize,
                           calibration_definition=calibration_definition, n_boot=n_boot, save_model=save_model,
                           device=device, workers=workers, amp=amp)
        with log.progress(transient=True) as prog:
            res = run_eval(model, store, cfg, out_dir=out, name=name, arch=arch,
                           image_weights=str(image_weights) if image_weights else None, progress=prog)
        doc = res.doc
        doc["out"] = display_path(res.out_dir) if res.out_dir else None
        doc["ok"] = True
        emit(doc, json_out, lambda: _render(doc))
