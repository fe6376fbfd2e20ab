"""External comparison for `mvkl bench deid` (issue 15): scrubadub on the English half of the held-out
corpus, jieba's posseg person tags on the Chinese half. NOT part of mvkl or its tests.

Run from the repository root in a separate virtual environment that has numpy, scrubadub and jieba
(never in mvkl's own environment):

    python -m venv /tmp/deidx && /tmp/deidx/bin/pip install numpy scrubadub jieba
    PYTHONPATH=. /tmp/deidx/bin/python docs/bench/deid_external.py > docs/bench/dev-cpu/deid-external.json
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable

import numpy as np

from mvkl.deid.bench import Planted, evaluate, make_corpus
from mvkl.deid.scrub import scrub_report
from mvkl.deid.strict import strict_report
from mvkl.synth.narratives import clinical_reports

_VOCAB = ["左乳", "右乳", "双乳", "乳腺", "腺体", "钙化", "肿块", "毛刺", "象限", "分叶", "结节", "腋窝", "乳头", "叶"]


def _scrubadub(extended: bool) -> Callable[[str], str]:
    import scrubadub
    import scrubadub.detectors as d

    s = scrubadub.Scrubber()
    if extended:  # the detectors that need no downloaded model (TextBlob's name detector needs NLTK data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s.add_detector(d.DateOfBirthDetector)
    return s.clean


def _jieba(vocab: bool) -> Callable[[str], str]:
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)
    if vocab:
        for w in _VOCAB:
            jieba.add_word(w, freq=100000, tag="n")
    return lambda t: "".join("[NAME]" if w.flag in ("nr", "nrfg", "nrt") else w.word for w in pseg.cut(t))


def _clinical_zh(n: int) -> list[str]:
    return clinical_reports(n, seed=0, lang="zh")


def _no_cue_names(n: int) -> list[Planted]:
    """Chinese names with no cue at all (no label, 患者, honorific): the rules' known limit."""
    rng = np.random.default_rng(3)
    sur = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
    giv = "丽娟美玲秀英华敏静芳娜艳霞桂兰凤琴红梅婷"
    tpls = ["{v}今日复查，左乳外上象限见一肿块。", "与{v}沟通后行活检。", "{v}自述右乳疼痛。", "{v}，女，45岁。"]
    out = []
    for i in range(n):
        v = sur[i % len(sur)] + "".join(rng.choice(list(giv), size=int(rng.integers(1, 3))))
        out.append(Planted("zh", "name", v, tpls[i % 4].format(v=v)))
    return out


def main() -> None:
    corpus = make_corpus(2400, seed=1, templates="all")
    en = [p for p in corpus if p.lang == "en"]
    zh = [p for p in corpus if p.lang == "zh"]
    doc: dict[str, object] = {"corpus": "held-out (seed 1, all templates)", "n_en": len(en), "n_zh": len(zh)}
    en_tools = {"mvkl": lambda t: scrub_report(t)[0], "mvkl-strict": lambda t: strict_report(t)[0],
                "scrubadub-default": _scrubadub(False), "scrubadub-dob": _scrubadub(True)}
    doc["en"] = {name: evaluate(en, fn) for name, fn in en_tools.items()}
    clinical = _clinical_zh(400)
    no_cue = _no_cue_names(500)
    zh_doc: dict[str, object] = {}
    makers: dict[str, Callable[[], Callable[[str], str]]] = {  # built in turn: the vocabulary changes jieba
        "mvkl": lambda: (lambda t: scrub_report(t)[0]), "jieba-nr": lambda: _jieba(False),
        "jieba-nr+radiology-words": lambda: _jieba(True)}
    for name, make in makers.items():
        fn = make()
        r = evaluate(zh, fn)
        r["no_cue_name_recall"] = evaluate(no_cue, fn)["recall"]
        t0 = time.perf_counter()
        outs = [fn(t) for t in clinical]
        r["clinical_reports_per_s"] = round(len(clinical) / (time.perf_counter() - t0))
        changed = sum(o != t for o, t in zip(outs, clinical, strict=True))
        r["clinical_reports_changed"] = round(changed / len(clinical), 4)
        removed = Counter(w for o, t in zip(outs, clinical, strict=True) for w in _VOCAB if w in t and w not in o)
        r["clinical_words_lost"] = dict(removed.most_common(5))
        zh_doc[name] = r
    doc["zh"] = zh_doc
    import jieba
    import scrubadub

    doc["versions"] = {"scrubadub": scrubadub.__version__, "jieba": jieba.__version__, "python": sys.version.split()[0]}
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
