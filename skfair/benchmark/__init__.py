"""The mitigation benchmark behind ``skfair benchmark``.

Every mitigation method of skfair, side by side with fairlearn's reductions
(``ExponentiatedGradient``, ``GridSearch``) and post-processing
(``ThresholdOptimizer``), on the same features and the same train /
validation / test split; hyper-parameters chosen on validation by one rule;
accuracy (or MAE), every fairness metric of :mod:`skfair.metrics` and wall
times reported in ``results.csv``, ``report.md`` and plots.

Use it from the command line (``skfair benchmark --help``) or from Python::

    from skfair.benchmark import (DataConfig, prepare_data, resolve_methods,
                                  run_benchmark, write_report)
    data = prepare_data(DataConfig(dataset="colored_digits"))
    result = run_benchmark(data, resolve_methods("fast"))
    write_report(result, "skfair_results/digits")
"""

from ._data import DATASETS, BenchmarkData, DataConfig, DatasetSpec, prepare_data
from ._features import embed_images, train_backbone
from ._methods import METHODS, Method, MethodContext, available_methods, resolve_methods
from ._report import machine_info, write_report
from ._runner import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    BenchmarkResult,
    compute_metrics,
    is_peer,
    run_benchmark,
    select_candidate,
)

__all__ = [
    "CLASSIFICATION_METRICS",
    "DATASETS",
    "METHODS",
    "REGRESSION_METRICS",
    "BenchmarkData",
    "BenchmarkResult",
    "DataConfig",
    "DatasetSpec",
    "Method",
    "MethodContext",
    "available_methods",
    "compute_metrics",
    "embed_images",
    "is_peer",
    "machine_info",
    "prepare_data",
    "resolve_methods",
    "run_benchmark",
    "select_candidate",
    "train_backbone",
    "write_report",
]
