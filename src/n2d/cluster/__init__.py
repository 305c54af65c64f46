"""Stage 3 and the choice of k: named clusterers, the stage runner, the consensus of several runs.

Any object with ``fit_predict`` works as a stage; ``predict`` (and
``predict_proba``) are needed only for out-of-sample prediction. The modules:

- ``_factory``: the named clusterers and their k;
- ``_fit``: fitting the stage (thread limits, progress, covariance retries);
- ``_consensus``: choosing among several runs without labels;
- ``_gmm_torch``: the Gaussian mixture in torch (:class:`TorchGaussianMixture`, for GPUs);
- ``_hdbscan``: scikit-learn's HDBSCAN as a stage that predicts (:class:`HDBSCANClusterer`);
- ``_select_k``: choosing k without labels (``n_clusters="auto"``).
"""

from n2d.cluster._consensus import consensus_choice
from n2d.cluster._factory import CLUSTERERS, GMM_N_INIT, finds_k, make_clusterer, set_n_clusters
from n2d.cluster._fit import fit_predict

__all__ = [
    "CLUSTERERS", "GMM_N_INIT", "HDBSCANClusterer", "TorchGaussianMixture", "consensus_choice", "finds_k",
    "fit_predict", "make_clusterer", "set_n_clusters",
]


def __getattr__(name):
    if name == "TorchGaussianMixture":  # imported on first use: it pulls in torch
        from n2d.cluster._gmm_torch import TorchGaussianMixture

        return TorchGaussianMixture
    if name == "HDBSCANClusterer":
        from n2d.cluster._hdbscan import HDBSCANClusterer

        return HDBSCANClusterer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
