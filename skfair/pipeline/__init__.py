"""A Pipeline that keeps routed per-row metadata aligned with resampled rows."""

from ._pipeline import Pipeline, align_metadata, make_pipeline

__all__ = ["Pipeline", "align_metadata", "make_pipeline"]
