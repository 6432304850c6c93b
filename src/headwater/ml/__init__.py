"""ML readers and point-in-time training sets over Headwater streams and delivered datasets.

Depends on ``headwater.client`` only (never the service). See docs/ml.md.
"""

from headwater.ml.readers import (
    META_COLUMNS,
    read_dataset,
    read_stream,
    read_stream_async,
    to_pandas,
    to_polars,
)
from headwater.ml.training import FeatureView, as_arrow, build_training_set

__all__ = [
    "META_COLUMNS",
    "FeatureView",
    "as_arrow",
    "build_training_set",
    "read_dataset",
    "read_stream",
    "read_stream_async",
    "to_pandas",
    "to_polars",
]
