"""Warnings and errors raised by n2d.

Errors subclass the built-in or scikit-learn exception a caller would already
catch (``ValueError``, ``FileNotFoundError``), so generic handlers keep working.
"""

from __future__ import annotations


class N2DWarning(UserWarning):
    """Base class of the warnings n2d emits."""


class DeviceWarning(N2DWarning):
    """A model or computation was moved to a device other than the one asked for."""


class CacheWarning(N2DWarning):
    """A cache entry could not be read or written; n2d carried on without it."""


class CUDAGraphWarning(N2DWarning):
    """Capturing the training step in a CUDA graph failed; training went on without the graph (slower)."""


class ModelFormatError(ValueError):
    """A saved model directory is missing, corrupted, truncated or of a newer format."""


class ChecksumError(ValueError):
    """A data file's sha256 does not match the registry; the file was not used."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not present locally and could not be downloaded."""


class DataFileError(ValueError):
    """A user data file could not be read or has the wrong layout."""


class DegenerateDataWarning(N2DWarning):
    """The data, its code or its manifold has fewer distinct points than clusters requested.

    Some clusters then cannot correspond to anything in the data: they split
    identical points apart or stay empty. n2d still gives identical input rows
    identical labels.
    """


class StageError(ValueError):
    """A stage failed on this data; the message names the stage, the cause and the parameter to change."""


class AdjustmentWarning(N2DWarning):
    """A stage could not run as configured on this data and ran with an adjusted setting.

    N2D records every adjustment in its ``adjustments_`` attribute (and ``n2d
    cluster`` in ``result.json``).
    """
