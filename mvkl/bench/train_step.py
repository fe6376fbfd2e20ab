"""Benchmark `mvkl bench train-step`: pretraining samples/s for a preset on this machine (CPU or GPU).

Times forward + backward + optimizer step of the ViKL model of a preset (``tiny``: ResNet-18 and the
tiny BERT; ``paper``: ResNet-50 at 256² and a BERT-base-sized text encoder, randomly initialised,
vocabulary 21,128 like bert-base-chinese) on a synthetic batch of that preset's shapes, with the
preset's loss, built by :func:`mvkl.train.objective.compute_loss` from the same configuration as
the trainer's (every loss field: temperatures, label smoothing, hard negatives, ITM view, de-dup
scope, intra-modal negatives, decoupling, HCL τ⁺/β), and Adam. Data loading is excluded
(``mvkl bench loader`` measures it). Reports are ``--report-tokens`` long on average (±25 %), and
the text part is timed twice (B38): with dynamic padding (to the longest report of the batch,
what mvkl does) and padded to 512 tokens (the released code). Peak memory is
``torch.cuda.max_memory_allocated`` on CUDA and the process's peak RSS on CPU.
"""

from __future__ import annotations

import resource
import time
from typing import Any

from mvkl.bench import machine_info

#: BERT-base shape (bert-base-chinese): hidden 768, 12 layers, 12 heads, feed-forward 3072.
BERT_BASE = {"hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072, "vocab": 21128}


class _SyntheticText:
    """A randomly initialised BertModel with the TextEncoder interface (no files, no tokenizer)."""

    @staticmethod
    def build(hidden: int, layers: int, heads: int, intermediate: int, vocab: int) -> Any:
        import torch
        from transformers import BertConfig, BertModel

        class Text(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                cfg = BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                                 num_attention_heads=heads, intermediate_size=intermediate)
                self.bert = BertModel(cfg)
                self.feature_dim, self.tokenizer, self.max_length = hidden, None, 512

            def forward(self, batch: dict[str, Any]) -> Any:
                return self.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).pooler_output

        return Text()


def _batch(b: int, size: int, tokens: int, vocab: int, pad512: bool, seed: int, device: Any) -> dict[str, Any]:
    import torch

    g = torch.Generator().manual_seed(seed)
    lengths = (tokens * (0.75 + 0.5 * torch.rand(b, generator=g))).long().clamp(4, 512)
    width = 512 if pad512 else int(lengths.max())
    mask = (torch.arange(width)[None, :] < lengths[:, None]).long()
    ids = torch.randint(5, vocab, (b, width), generator=g) * mask
    man = (torch.rand(b, 35, generator=g) < 0.15).float()
    return {"view1": torch.rand(b, 1, size, size, generator=g).to(device),
            "view2": torch.rand(b, 1, size, size, generator=g).to(device),
            "text": {"input_ids": ids.to(device), "attention_mask": mask.to(device)},
            "manifest": man.to(device), "known": torch.ones(b, 35, device=device), "width": width}


def run(preset: str = "tiny", steps: int = 5, batch_size: int | None = None, device: str = "auto",
        precision: str = "auto", report_tokens: int = 200, compare_pad512: bool = True,
        seed: int = 0) -> dict[str, Any]:
    """Time ``steps`` training steps after one warm-up step (module docstring)."""
    import torch

    from mvkl.models import ImageEncoder, ViKL
    from mvkl.train.config import resolve_config
    from mvkl.train.distributed import resolve_device
    from mvkl.train.objective import compute_loss

    cfg = resolve_config(preset, overrides={"text_model": "tiny", "image_weights": "random"})
    dev = resolve_device(device)
    bf16 = precision == "bf16" or (precision == "auto" and dev.type == "cuda")
    b = batch_size or cfg.batch_size
    if preset != "tiny":  # paper, code-compat: BERT-base
        shape = dict(BERT_BASE)
    else:
        shape = {"hidden": cfg.tiny_text_hidden, "layers": cfg.tiny_text_layers, "heads": cfg.tiny_text_heads,
                 "intermediate": cfg.tiny_text_intermediate, "vocab": cfg.tiny_text_vocab}
    torch.manual_seed(seed)
    model = ViKL(ImageEncoder(cfg.arch, seed=seed), _SyntheticText.build(**shape), embed_dim=cfg.embed_dim,
                 view_passes=cfg.view_passes).to(dev)
    if dev.type == "cuda":
        model.image_encoder.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    terms = model.default_terms()
    model.train()

    def step(batch: dict[str, Any]) -> None:
        ctx = torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if bf16 else torch.autocast(
            device_type=dev.type, enabled=False)
        with ctx:
            out = model(batch["view1"], batch["view2"], text=batch["text"], manifest=batch["manifest"],
                        manifest_known=batch["known"])
        loss, _ = compute_loss(cfg, out, generator=torch.Generator().manual_seed(0), terms=terms)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def timed(pad512: bool) -> tuple[float, int]:
        batch = _batch(b, cfg.image_size, report_tokens, shape["vocab"], pad512, seed, dev)
        step(batch)  # warm-up
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        for _ in range(steps):
            step(batch)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return (time.perf_counter() - t0) / steps, int(batch["width"])

    dyn, width = timed(False)
    doc: dict[str, Any] = {
        "bench": "train-step", "preset": preset, "device": dev.type, "precision": "bf16" if bf16 else "fp32",
        "arch": cfg.arch, "image_size": cfg.image_size, "batch_size": b, "text_hidden": shape["hidden"],
        "text_layers": shape["layers"], "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "steps": steps, "report_tokens": report_tokens, "text_tokens_dynamic": width,
        "step_s": dyn, "samples_per_s": b / dyn,
    }
    if compare_pad512:
        pad, _ = timed(True)
        doc.update({"step_s_pad512": pad, "samples_per_s_pad512": b / pad, "dynamic_padding_speedup": pad / dyn})
    if dev.type == "cuda":
        doc["peak_memory_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
    else:
        doc["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    doc["machine"] = machine_info()
    return doc
