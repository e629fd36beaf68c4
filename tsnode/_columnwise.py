"""The private base of the per-series scalers in :mod:`tsnode.preprocessing`: input layout
checks, column bookkeeping and scikit-learn validation shared by ``LogScaler`` and
``SeriesScaler``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils._tags import Tags
from sklearn.utils.validation import check_array, check_is_fitted, validate_data


def _column_label(estimator: BaseEstimator, j: int) -> str:
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and j < len(names):
        return f"column {names[j]!r}"
    return f"column {j}"


def _like_input(values: np.ndarray, X: Any) -> np.ndarray | pd.DataFrame:
    """Return ``values`` as a DataFrame shaped like ``X`` when ``X`` is one, else as is."""
    if isinstance(X, pd.DataFrame):
        return pd.DataFrame(values, index=X.index, columns=X.columns)
    return values


def _check_layout(X: Any, method: str, owner: str) -> None:
    if isinstance(X, pd.Series):
        raise ValueError(
            f"{owner}.{method}: X must be 2-D (a wide DataFrame with one column per series or "
            f"an array of shape (n_samples, n_features)), got a pandas Series {X.name!r}. "
            "Pass `series.to_frame()` instead."
        )
    if not isinstance(X, pd.DataFrame):
        return
    repeated = list(dict.fromkeys(X.columns[X.columns.duplicated()]))
    if repeated:
        raise ValueError(f"{owner}.{method}: X has duplicate column names {repeated}; rename them.")
    for label, dtype in X.dtypes.items():
        if getattr(dtype, "kind", "") in ("m", "M"):
            raise TypeError(
                f"{owner}.{method}: column {label!r} of X holds {dtype} values (dates or time "
                "spans), not numbers; pass the price columns only (dates belong in the index)."
            )


class _ColumnwiseScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Shared validation for per-column, one-to-one, NaN-tolerant transformers."""

    def _validate_fit(self, X: Any) -> np.ndarray:
        _check_layout(X, "fit", type(self).__name__)
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        # scikit-learn records only str column names; other labels (0, 1 from a numpy array)
        # are kept too, or reordered columns would be scaled with each other's parameters
        vars(self).pop("column_labels_", None)
        if isinstance(X, pd.DataFrame) and not hasattr(self, "feature_names_in_"):
            self.column_labels_ = [str(c) for c in X.columns]
        empty = np.flatnonzero(np.isnan(values).all(axis=0))
        if empty.size:
            labels = ", ".join(_column_label(self, j) for j in empty[:5])
            raise ValueError(
                f"{type(self).__name__}.fit: {labels} {'is' if empty.size == 1 else 'are'} "
                "entirely NaN, so no scale can be learned from it. Drop the column, or fit on a "
                "period where the series has observations."
            )
        return values

    def _validate_transform(self, X: Any, method: str) -> np.ndarray:
        check_is_fitted(self)
        _check_layout(X, method, type(self).__name__)
        labels = getattr(self, "column_labels_", None)
        if labels is not None and isinstance(X, pd.DataFrame):
            columns = [str(c) for c in X.columns]
            if columns != labels:
                raise ValueError(
                    f"{type(self).__name__}.{method}: X has columns {columns}, but the scaler "
                    f"was fitted on columns {labels}. Pass the columns in the same order as in "
                    "fit."
                )
        if method == "transform":
            return validate_data(
                self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False
            )
        # inverse_transform: input is in scaled units; check shape and (if any) column names
        # without scikit-learn's "X does not have valid feature names" warning on arrays.
        values = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan")
        if values.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {values.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (the columns it was fitted on)."
            )
        names = getattr(self, "feature_names_in_", None)
        if names is not None and isinstance(X, pd.DataFrame):
            columns = [str(c) for c in X.columns]
            if columns != [str(c) for c in names]:
                raise ValueError(
                    f"{type(self).__name__}.inverse_transform: X has columns {columns}, but the "
                    f"scaler was fitted on columns {list(names)}. Pass the columns in the same "
                    "order as in fit."
                )
        return values

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
