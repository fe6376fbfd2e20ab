"""Downstream evaluation protocols (paper Sec. 5.1-5.10): linear probe (LP),
linear evaluation (LE), fine-tuning (FT), with calibration, and the cross-dataset (Table 4) and
data-fraction (Fig. 5) benchmarks.

* :mod:`.config`: the ``paper`` and ``tiny`` settings, every hyperparameter with its source;
* :mod:`.data`: labelled images per split, training batches, loaders;
* :mod:`.features`: frozen feature extraction and batched prediction;
* :mod:`.lp`: logistic-regression probe; :mod:`.finetune`: the LE/FT trainer;
* :mod:`.subsets`: seeded stratified patient-aware training fractions;
* :mod:`.classifier`: the saved classifier format (``mvkl predict``, ``mvkl cam``);
* :mod:`.runner`: seeds, metrics, aggregation; :mod:`.report`: the results directory;
* :mod:`.crossdataset`, :mod:`.datafraction`: the benchmarks.

Importing this package imports torch (through :mod:`.classifier`); the CLI imports it inside
command functions.
"""

from mvkl.evaluation.protocols.classifier import Classifier, load_classifier, save_classifier
from mvkl.evaluation.protocols.config import PROTOCOLS, SETTINGS, EvalConfig, resolve_config
from mvkl.evaluation.protocols.runner import EvalOutcome, run_eval
from mvkl.evaluation.protocols.subsets import fraction_subset

__all__ = [
    "PROTOCOLS",
    "SETTINGS",
    "Classifier",
    "EvalConfig",
    "EvalOutcome",
    "fraction_subset",
    "load_classifier",
    "resolve_config",
    "run_eval",
    "save_classifier",
]
