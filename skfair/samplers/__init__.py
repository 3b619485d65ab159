"""Samplers with imbalanced-learn's ``fit_resample`` contract."""

from ._group_resampler import GroupResampler, group_resample_indices

__all__ = ["GroupResampler", "group_resample_indices"]
