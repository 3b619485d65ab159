"""Where skfair looks for the real datasets a user downloaded."""

import os
from pathlib import Path

__all__ = ["get_data_dir"]

#: Environment variable that overrides the data folder.
DATA_ENV_VAR = "SKFAIR_DATA_DIR"

#: The default folder, in the user's home (as scikit-learn's ``~/scikit_learn_data``).
DEFAULT_DATA_DIR = "~/skfair_data"


def get_data_dir(data_dir=None):
    """Return the folder that holds the real datasets.

    Resolution order: the ``data_dir`` argument, the ``SKFAIR_DATA_DIR``
    environment variable, then ``~/skfair_data`` in the user's home (as
    :func:`sklearn.datasets.get_data_home`), whatever the current directory.
    The folder is neither created nor required to exist (skfair downloads
    nothing); loaders raise ``FileNotFoundError`` naming it.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Explicit folder.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> from skfair.utils import get_data_dir
    >>> get_data_dir("/data/faces").as_posix()
    '/data/faces'
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(DEFAULT_DATA_DIR).expanduser()
