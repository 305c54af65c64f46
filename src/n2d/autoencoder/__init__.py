"""Stage 1: the torch MLP autoencoder, its training, precision and weights.

:class:`Autoencoder` is the scikit-learn transformer N2D uses; :func:`fit_autoencoders`
trains several seeds as one batched model. The modules behind them:

- ``_factory``: the named stages (``"mlp"``);
- ``_networks``: the d-500-500-2000-k MLP and its stacked (several seeds at once) form;
- ``_training``: the training loop, the step, the training length (``epochs="auto"``);
- ``_weights``: the safetensors weight files and the weight cache's entries;
- ``_keras``: reading the original N2D code's Keras ``.h5`` weights.
"""

from n2d.autoencoder._estimator import Autoencoder, fit_autoencoders, fit_together
from n2d.autoencoder._factory import AUTOENCODERS, make_autoencoder
from n2d.autoencoder._networks import MLPAutoencoder, StackedMLPAutoencoder
from n2d.autoencoder._training import train_autoencoder

__all__ = ["AUTOENCODERS", "MLPAutoencoder", "StackedMLPAutoencoder", "Autoencoder", "train_autoencoder",
           "fit_autoencoders", "fit_together", "make_autoencoder"]
