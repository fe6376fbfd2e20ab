"""Text encoder E_T (BERT pooler output) from a local directory, and a tiny local BERT builder.

``BertModel`` (default ``bert-base-chinese``), fully fine-tuned; the feature is
the **pooler output** tanh(dense(h_[CLS])), 768-d for BERT-base. B38: tokenise with dynamic
padding (pad to the longest report of the batch, truncate at 512), never to a fixed 512.

Nothing here reaches the network: models and tokenizers load with ``local_files_only=True``. Tests
and demos use :func:`build_tiny_bert`, which builds a WordPiece vocabulary from the training reports
and saves a small, randomly initialised BERT that reloads through ``AutoModel``/``AutoTokenizer``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = ["MAX_TEXT_LENGTH", "TextEncoder", "build_tiny_bert", "load_tokenizer", "tokenize"]

#: BERT's position limit; reports are truncated here.
MAX_TEXT_LENGTH = 512

_OFFLINE_HELP = (
    "mvkl loads text models from a local directory only. On a connected machine run e.g. "
    "`huggingface-cli download bert-base-chinese --local-dir models/bert-base-chinese` (or "
    "`hf download ...`), copy the directory, and pass it (--text-model DIR); for a quick offline "
    "model built from your own reports use mvkl.models.build_tiny_bert."
)


@contextlib.contextmanager
def _quiet_hf() -> Iterator[None]:
    """Silence transformers' own progress bars (mvkl reports progress itself, on stderr)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _check_model_dir(model_dir: str | os.PathLike[str]) -> Path:
    p = Path(model_dir)
    if not p.is_dir():
        raise InputError(f"text model directory not found. {_OFFLINE_HELP}", file=display_path(p),
                         code="missing-model")
    if not (p / "config.json").is_file():
        raise InputError(f"not a Hugging Face model directory (no config.json). {_OFFLINE_HELP}",
                         file=display_path(p), code="missing-model")
    return p


def load_tokenizer(model_dir: str | os.PathLike[str]) -> Any:
    """``AutoTokenizer.from_pretrained(model_dir, local_files_only=True)`` with an actionable InputError."""
    from transformers import AutoTokenizer

    p = _check_model_dir(model_dir)
    try:
        return AutoTokenizer.from_pretrained(str(p), local_files_only=True)
    except Exception as exc:
        raise InputError(f"cannot load a tokenizer ({type(exc).__name__}). {_OFFLINE_HELP}",
                         file=display_path(p), code="missing-model") from exc


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int = MAX_TEXT_LENGTH) -> dict[str, Tensor]:
    """Tokenise a batch with dynamic padding (longest in the batch) and truncation at ``max_length``.

    Returns ``{"input_ids", "attention_mask"}`` as int64 tensors of shape ``(len(texts), L)`` with
    L ≤ max_length (B38). ``token_type_ids`` are dropped: single-segment input, all zeros, and the
    released code never passed them.
    """
    limit = min(int(max_length), int(getattr(tokenizer, "model_max_length", max_length) or max_length))
    enc = tokenizer(list(texts), padding="longest", truncation=True, max_length=limit, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


POOLINGS = ("pooler", "mean", "cls")


class TextEncoder(nn.Module):
    """BERT from a local directory; ``forward(batch) -> pooled feature``.

    ``pooling="pooler"`` (the paper and released code) is BERT's pooler output,
    tanh(dense(h_[CLS])). For a randomly initialised model (the ``tiny`` preset's locally built
    BERT) the [CLS] state is almost the same for every report (cosine distances around 1e-6), so
    the text branch starts collapsed and never learns; ``"mean"`` (attention-masked mean of the last
    hidden states) depends on every token from the first step and is what the tiny preset uses.
    ``"cls"`` is the raw [CLS] state.

    Attributes:
        bert: the ``transformers`` model (``AutoModel``); ``tokenizer``: its tokenizer (not a module);
        feature_dim: hidden size (768 for BERT-base); ``max_length``: min(512, position limit);
        pooling: one of :data:`POOLINGS`.
    """

    def __init__(self, model_dir: str | os.PathLike[str], pooling: str = "pooler") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise InputError(f"text pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}", code="usage")
        self.pooling = pooling
        from transformers import AutoModel

        p = _check_model_dir(model_dir)
        try:
            with _quiet_hf():
                self.bert = AutoModel.from_pretrained(str(p), local_files_only=True)
        except Exception as exc:
            raise InputError(f"cannot load a text model ({type(exc).__name__}). {_OFFLINE_HELP}",
                             file=display_path(p), code="missing-model") from exc
        if pooling == "pooler" and getattr(self.bert, "pooler", None) is None:
            raise InputError("the text model has no pooler layer; ViKL uses BERT's pooler output: "
                             "use a BertModel checkpoint", file=display_path(p))
        if pooling != "pooler" and getattr(self.bert, "pooler", None) is not None:
            # Unused with mean/cls pooling: frozen so optimisers and DDP (no unused-parameter errors) skip it.
            self.bert.pooler.requires_grad_(False)
        self.tokenizer = load_tokenizer(p)
        self.feature_dim = int(self.bert.config.hidden_size)
        self.max_length = min(MAX_TEXT_LENGTH, int(getattr(self.bert.config, "max_position_embeddings",
                                                           MAX_TEXT_LENGTH)))

    def tokenize(self, texts: Sequence[str]) -> dict[str, Tensor]:
        """Dynamic-padding tokenisation (see :func:`tokenize`)."""
        return tokenize(self.tokenizer, texts, self.max_length)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        """``{"input_ids", "attention_mask"}`` of shape (B, L) → pooled feature (B, feature_dim)."""
        out = self.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        if self.pooling == "pooler":
            return out.pooler_output
        h = out.last_hidden_state
        if self.pooling == "cls":
            return h[:, 0]
        mask = batch["attention_mask"].unsqueeze(-1).to(h.dtype)
        return (h * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)

    def save_pretrained(self, out_dir: str | os.PathLike[str]) -> None:
        """Save model and tokenizer (``save_pretrained``) so :class:`TextEncoder` reloads them."""
        with _quiet_hf():
            self.bert.save_pretrained(str(out_dir))
        self.tokenizer.save_pretrained(str(out_dir))


_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _bert_pipeline() -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    # BERT normalisation: Chinese characters are split one per token, like bert-base-chinese.
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    return tok


def _wordpiece_vocab(texts: Sequence[str], vocab_size: int) -> dict[str, int]:
    """A deterministic WordPiece vocabulary: specials, every character (word-initial and ``##``
    continuation, most frequent first if they do not all fit), then whole words by frequency.

    Ties are broken by the string, so the same texts always give the same vocabulary. (The
    ``tokenizers`` WordPiece trainer breaks ties in hash-map order and is not reproducible.)
    """
    from collections import Counter

    pipe = _bert_pipeline()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in pipe.pre_tokenizer.pre_tokenize_str(pipe.normalizer.normalize_str(text)))
    pieces: Counter[str] = Counter()
    for w, c in words.items():
        pieces[w[0]] += c
        for ch in w[1:]:
            pieces["##" + ch] += c
    by_count = sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0]))
    whole = sorted(((w, c) for w, c in words.items() if len(w) > 1), key=lambda kv: (-kv[1], kv[0]))
    vocab: dict[str, int] = {t: i for i, t in enumerate(_SPECIALS)}
    for token, _ in [*by_count, *whole]:
        if len(vocab) >= vocab_size:
            break
        vocab.setdefault(token, len(vocab))
    return vocab


def _train_wordpiece(texts: Sequence[str], vocab_size: int) -> Any:
    from tokenizers import models, processors

    tok = _bert_pipeline()
    tok.model = models.WordPiece(_wordpiece_vocab(texts, max(vocab_size, len(_SPECIALS) + 1)), unk_token="[UNK]")
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tok


def build_tiny_bert(texts: Iterable[str], out_dir: str | os.PathLike[str], *, vocab_size: int = 2000,
                    hidden: int = 128, layers: int = 2, heads: int = 2, intermediate: int = 256,
                    max_position: int = MAX_TEXT_LENGTH, seed: int = 0) -> Path:
    """Build a small BERT + WordPiece tokenizer from ``texts`` (the training reports) into ``out_dir``.

    The tokenizer is a ``tokenizers`` WordPiece pipeline (BertNormalizer with
    ``handle_chinese_chars=True``, BertPreTokenizer, specials [PAD] [UNK] [CLS] [SEP] [MASK], BERT
    post-processor) whose vocabulary (at most ``vocab_size``) is built deterministically from the
    texts (:func:`_wordpiece_vocab`), saved as ``BertTokenizerFast``; the model is ``BertModel(BertConfig(...))``
    initialised under ``seed`` (the global RNG is left untouched). The directory is written
    atomically (built next to ``out_dir``, then renamed), verified to reload offline with
    ``AutoModel``/``AutoTokenizer``, and is deterministic for a seed. Returns ``out_dir``.
    """
    from transformers import BertConfig, BertModel, BertTokenizerFast

    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise InputError("build_tiny_bert needs at least one non-empty report text")
    if hidden % heads:
        raise InputError(f"hidden size {hidden} must be a multiple of the number of heads {heads}")
    out = Path(out_dir)
    tok = _train_wordpiece(texts, vocab_size)
    limit = min(MAX_TEXT_LENGTH, int(max_position))
    hf_tok = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                               cls_token="[CLS]", mask_token="[MASK]", model_max_length=limit)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=int(max_position), pad_token_id=tok.token_to_id("[PAD]"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config)
    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with _quiet_hf():
            model.save_pretrained(str(tmp))
        hf_tok.save_pretrained(str(tmp))
        _verify_reload(tmp, model, hf_tok, texts[0])
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
        raise
    return out


def _verify_reload(path: Path, model: nn.Module, tokenizer: Any, sample: str) -> None:
    """The saved directory reloads offline and gives the same token ids and pooler output."""
    enc = TextEncoder(path)
    enc.eval()
    a = tokenize(tokenizer, [sample])
    b = enc.tokenize([sample])
    if not torch.equal(a["input_ids"], b["input_ids"]):
        raise RuntimeError("tiny BERT tokenizer did not reload identically")
    with torch.no_grad():
        ref = model(**a).pooler_output
        got = enc(b)
    if not torch.allclose(ref, got, atol=1e-6):
        raise RuntimeError("tiny BERT model did not reload identically")
