"""c02: data processing with numpy, scipy and polars; PCA from scratch, four ways.

One file per idea:

* :mod:`~c02_data.datasets` - scikit-learn's bundled tables as messy raw CSV exports (given);
* :mod:`~c02_data.pipeline` - a lazy polars pipeline: scan, clean, standardise, group, join, Parquet;
* :mod:`~c02_data.streaming` - the same statistics for a CSV larger than memory (mergeable moments);
* :mod:`~c02_data.validation`, :mod:`~c02_data.base` - input checks, the estimator contract and the
  sign convention shared by every PCA;
* :mod:`~c02_data.pca_eigh` - PCA from the covariance matrix and ``eigh``;
* :mod:`~c02_data.pca_svd` - PCA from the SVD of the centred data;
* :mod:`~c02_data.pca_randomized` - randomized PCA (range finder, oversampling, power iterations);
* :mod:`~c02_data.pca_incremental` - incremental PCA over mini-batches;
* :mod:`~c02_data.numerics` - test matrices with known spectra and the error measures (given);
* :mod:`~c02_data.bench` - every PCA against scikit-learn (``python -m c02_data.bench``).
"""

from c02_data.base import BasePCA, NotFittedError, flip_signs
from c02_data.datasets import NULL_MARKERS, Corruption, Table, TableSpec, load_table, write_large_csv, write_raw_csv
from c02_data.numerics import (
    KnownPCA,
    component_errors,
    gapped,
    ill_conditioned,
    known_spectrum,
    normwise_relative_error,
    relative_eigengaps,
    relative_errors,
    signed_component_errors,
)
from c02_data.pca_eigh import CovariancePCA
from c02_data.pca_incremental import IncrementalPCA, batch_slices
from c02_data.pca_randomized import RandomizedPCA, randomized_range_finder, randomized_svd
from c02_data.pca_svd import SVDPCA
from c02_data.pipeline import (
    attach_centroid_distance,
    group_statistics,
    impute,
    parse,
    run_pipeline,
    scan_raw,
    standardize,
)
from c02_data.streaming import iter_csv_blocks, merge_moments, stream_group_statistics
from c02_data.validation import check_data, check_n_components

__all__ = [
    "NULL_MARKERS",
    "SVDPCA",
    "BasePCA",
    "Corruption",
    "CovariancePCA",
    "IncrementalPCA",
    "KnownPCA",
    "NotFittedError",
    "RandomizedPCA",
    "Table",
    "TableSpec",
    "attach_centroid_distance",
    "batch_slices",
    "check_data",
    "check_n_components",
    "component_errors",
    "flip_signs",
    "gapped",
    "group_statistics",
    "ill_conditioned",
    "impute",
    "iter_csv_blocks",
    "known_spectrum",
    "load_table",
    "merge_moments",
    "normwise_relative_error",
    "parse",
    "randomized_range_finder",
    "randomized_svd",
    "relative_eigengaps",
    "relative_errors",
    "run_pipeline",
    "scan_raw",
    "signed_component_errors",
    "standardize",
    "stream_group_statistics",
    "write_large_csv",
    "write_raw_csv",
]
