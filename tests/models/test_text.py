"""Tiny local BERT builder, TextEncoder (pooler output), dynamic padding; everything offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mvkl.errors import InputError
from mvkl.models import TextEncoder, build_tiny_bert, load_tokenizer, tokenize

from .conftest import REPORTS


def test_builds_from_chinese_and_english_and_reloads_offline(tiny_bert_dir: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(tiny_bert_dir), local_files_only=True)
    tok = AutoTokenizer.from_pretrained(str(tiny_bert_dir), local_files_only=True)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tok)
    ids = tok("左乳肿块")["input_ids"]
    tokens = tok.convert_ids_to_tokens(ids)
    assert tokens == ["[CLS]", "左", "乳", "肿", "块", "[SEP]"]  # Chinese split per character
    english = tok.convert_ids_to_tokens(tok("Spiculated margins")["input_ids"])
    assert english[0] == "[CLS]" and english[-1] == "[SEP]" and "[UNK]" not in english
    assert tok.pad_token == "[PAD]" and tok.mask_token == "[MASK]"


def test_is_deterministic_for_a_seed_and_differs_across_seeds(tmp_path: Path, tiny_bert_dir: Path) -> None:
    kw = dict(vocab_size=400, hidden=32, layers=2, heads=2, intermediate=64)
    again = build_tiny_bert(REPORTS * 2, tmp_path / "again", seed=0, **kw)
    files = sorted(p.name for p in tiny_bert_dir.iterdir())
    assert files == sorted(p.name for p in again.iterdir())
    for name in files:
        assert (tiny_bert_dir / name).read_bytes() == (again / name).read_bytes(), name
    other = build_tiny_bert(REPORTS * 2, tmp_path / "other", seed=1, **kw)
    assert (other / "model.safetensors").read_bytes() != (again / "model.safetensors").read_bytes()
    assert not list(tmp_path.glob(".*")), "temporary build directory left behind"


def test_text_encoder_returns_the_pooler_output(tiny_bert_dir: Path) -> None:
    enc = TextEncoder(tiny_bert_dir).eval()
    assert enc.feature_dim == 32 and enc.max_length == 512
    batch = enc.tokenize(REPORTS[:3])
    with torch.no_grad():
        got = enc(batch)
        h = enc.bert(**batch).last_hidden_state[:, 0]
        expected = torch.tanh(enc.bert.pooler.dense(h))  # tanh(dense(h_CLS)), not mean pooling
    assert got.shape == (3, 32)
    torch.testing.assert_close(got, expected)


def test_mean_and_cls_pooling_and_why_the_tiny_preset_uses_mean(tiny_bert_dir: Path) -> None:
    batch_texts = REPORTS[:5]
    with torch.no_grad():
        mean_enc = TextEncoder(tiny_bert_dir, pooling="mean").eval()
        batch = mean_enc.tokenize(batch_texts)
        h = mean_enc.bert(**batch).last_hidden_state
        got = mean_enc(batch)
        for i, n in enumerate(batch["attention_mask"].sum(1).tolist()):  # slow: per row, real tokens only
            torch.testing.assert_close(got[i], h[i, :n].mean(0))
        torch.testing.assert_close(TextEncoder(tiny_bert_dir, pooling="cls").eval()(batch), h[:, 0])
        pooler = TextEncoder(tiny_bert_dir).eval()(batch)

    def spread(x: torch.Tensor) -> float:  # mean pairwise cosine distance between reports
        z = torch.nn.functional.normalize(x.double(), dim=1)
        return float(1 - (z @ z.T)[~torch.eye(len(z), dtype=torch.bool)].mean())

    # A randomly initialised BERT's [CLS]/pooler feature barely depends on the report; mean pooling does.
    assert spread(got) > 100 * spread(pooler)
    with pytest.raises(InputError, match="pooling"):
        TextEncoder(tiny_bert_dir, pooling="max")
    # the pooler is unused with mean pooling: frozen, so DDP sees no parameter without a gradient
    assert not any(p.requires_grad for p in mean_enc.bert.pooler.parameters())
    assert all(p.requires_grad for p in TextEncoder(tiny_bert_dir).bert.pooler.parameters())


def test_tokenizer_pads_dynamically_and_truncates_at_512(tiny_bert_dir: Path) -> None:
    tok = load_tokenizer(tiny_bert_dir)
    short = tokenize(tok, ["左乳", "左乳外上象限"])
    assert set(short) == {"input_ids", "attention_mask"}
    assert short["input_ids"].shape == (2, 8)  # longest: [CLS] + 6 characters + [SEP]
    assert short["attention_mask"].sum(1).tolist() == [4, 8]
    assert short["input_ids"][0, 4:].tolist() == [tok.pad_token_id] * 4
    long = tokenize(tok, ["左" * 2000, "右"])
    assert long["input_ids"].shape == (2, 512)
    assert tokenize(tok, ["左" * 2000], max_length=64)["input_ids"].shape == (1, 64)


def test_attention_mask_makes_padding_irrelevant(tiny_bert_dir: Path) -> None:
    enc = TextEncoder(tiny_bert_dir).eval()
    with torch.no_grad():
        alone = enc(enc.tokenize([REPORTS[3]]))
        padded = enc(enc.tokenize([REPORTS[3], REPORTS[0] * 3]))[:1]
    torch.testing.assert_close(alone, padded, rtol=1e-5, atol=1e-5)


def test_missing_or_invalid_model_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="huggingface-cli download bert-base-chinese") as info:
        TextEncoder(tmp_path / "bert-base-chinese")
    assert info.value.exit_code == 2 and str(tmp_path) not in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no config\.json"):
        TextEncoder(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot load"):
        TextEncoder(bad)


def test_builder_rejects_bad_options(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="non-empty"):
        build_tiny_bert(["", "  "], tmp_path / "x")
    with pytest.raises(InputError, match="multiple"):
        build_tiny_bert(["a b"], tmp_path / "x", hidden=30, heads=4)
    assert not (tmp_path / "x").exists()
