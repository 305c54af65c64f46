"""Stage 3 and the choice of k: named clusterers, the stage runner, the consensus of several runs.

Any object with ``fit_predict`` works as a stage; ``predict`` (and
``predict_proba``) are needed only for out-of-sample prediction. The modules:

- ``_factory``: the named clusterers and their k;
- ``_fit``: fitting the stage (thread limits, progress, covariance retries);
- ``_consensus``: choosing among several runs without labels;
- ``_gmm_torch``: the Gaussian mixture in torch (:class:`TorchGaussianMixture`, for GPUs);
- ``_hdbscan``: scikit-learn's HDBSCAN as a stage that predicts (:class:`HDBSCANClusterer`);
- ``_select_k``: choosing k without labels (``n_clusters="auto"``).

Every name below is imported on first use (:pep:`562`, through ``lazy_loader``), so
that the command line can read ``_select_k``'s constants without loading scikit-learn
or torch.
"""

from typing import TYPE_CHECKING

import lazy_loader as _lazy

__getattr__, __dir__, _ = _lazy.attach(
    __name__,
    submod_attrs={
        "_consensus": ["consensus_choice"],
        "_factory": ["CLUSTERERS", "GMM_N_INIT", "finds_k", "make_clusterer", "set_n_clusters"],
        "_fit": ["fit_predict"],
        "_gmm_torch": ["TorchGaussianMixture"],
        "_hdbscan": ["HDBSCANClusterer"],
    },
)

__all__ = [
    "CLUSTERERS", "GMM_N_INIT", "HDBSCANClusterer", "TorchGaussianMixture", "consensus_choice", "finds_k",
    "fit_predict", "make_clusterer", "set_n_clusters",
]

if TYPE_CHECKING:
    from n2d.cluster._consensus import consensus_choice
    from n2d.cluster._factory import CLUSTERERS, GMM_N_INIT, finds_k, make_clusterer, set_n_clusters
    from n2d.cluster._fit import fit_predict
    from n2d.cluster._gmm_torch import TorchGaussianMixture
    from n2d.cluster._hdbscan import HDBSCANClusterer
