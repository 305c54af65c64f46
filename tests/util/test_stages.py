"""The data-aware code width and UMAP dimension (n2d._util.stages.default_width)."""

import numpy as np
import pytest

from n2d import Autoencoder, TorchUMAP
from n2d._util.stages import WIDTH_CAP, default_width
from n2d.datasets import DATASET_NAMES, dataset_info


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_the_width_is_k_on_the_papers_datasets(name):
    """The paper sets code width = UMAP dimension = k; on its six datasets the default is the same."""
    info = dataset_info(name)
    assert default_width(info["n_classes"], info["n_features"]) == info["n_classes"]


@pytest.mark.parametrize(
    "k, n, d, expected, why",
    [
        (26, 20_000, 16, WIDTH_CAP, "k above the cap (26 letters of a 16-feature table)"),
        (80, 800, 16, WIDTH_CAP, "80 clusters of 10 rows: the cap, not 80"),
        (12, 1500, 4, 4, "k above the features: a code wider than the input adds nothing"),
        (3, 178, 13, 3, "small k: k"),
        (2, 4, 1, 2, "never below 2"),
    ],
)
def test_the_width_follows_what_the_data_supports(k, n, d, expected, why):
    assert default_width(k, d) == expected, why


def test_fit_sizes_the_stages_by_the_data(tiny_n2d):
    """12 clusters in 4 features: the code and UMAP take 4 dimensions, the mixture 12 components."""
    rng = np.random.RandomState(0)
    x = (rng.randn(12, 4)[np.repeat(np.arange(12), 30)] * 6 + rng.randn(360, 4)).astype(np.float32)
    model = tiny_n2d(n_clusters=12).fit(x)
    assert model.autoencoder_.n_components == 4 and model.manifold_.n_components == 4
    assert model.embedding_.shape == (360, 4) and model.clusterer_.n_components == 12
    assert model.n_clusters_ == 12 and model.adjustments_ == {}


def test_stages_with_their_own_width_keep_it(tiny_n2d):
    """The paper's sizes stay one argument away: stages given n_components keep it."""
    rng = np.random.RandomState(1)
    x = (rng.randn(12, 4)[np.repeat(np.arange(12), 30)] * 6 + rng.randn(360, 4)).astype(np.float32)
    model = tiny_n2d(n_clusters=12, autoencoder=Autoencoder(n_components=12),
                     manifold=TorchUMAP(n_components=12)).fit(x)
    assert model.autoencoder_.n_components == 12 and model.embedding_.shape == (360, 12)
