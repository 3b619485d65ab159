"""skfair: measure and mitigate demographic bias with scikit-learn, PyTorch and pandas.

Subpackages
-----------
datasets      embedded biased dataset and loaders for real face / tabular data
metrics       fairness metrics, group reports and routed scorers
plotting      heatmaps, Pareto fronts, bias-amplification scatter plots
samplers      group resampling (imbalanced-learn contract)
weighting     fairness sample weights and a weighting meta-estimator
pipeline      a Pipeline that keeps routed metadata aligned with resampled rows
transformers  embedding extraction, pixel inversion, augmentation
losses        differentiable fairness losses (PyTorch)
estimators    skorch-based fairness-aware networks
ensemble      the ensemble of experts
generative    the descriptive (energy-based) model
utils         the sensitive-feature convention
benchmark     the mitigation benchmark behind ``skfair benchmark``
"""

#: The installed version of skfair.
__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
