"""Independent random streams from a run's one seed.

Each use of randomness draws from its own generator, so changing one (say, the
augmentation) never shifts another (the weights)::

    INIT      weight initialization        DROPOUT   dropout masks
    SHUFFLE   batch order, augmentation    VAL_SPLIT which samples validate (and k-fold)
"""
import numpy as np

INIT, DROPOUT, SHUFFLE, VAL_SPLIT = 0, 1, 2, 3


def derived_seed(seed: int, purpose: int) -> int:
    """The seed of stream ``purpose`` (one of the constants above) of ``seed``."""
    return int(np.random.SeedSequence([int(seed), purpose]).generate_state(1)[0])


def stream(seed: int, purpose: int) -> np.random.Generator:
    """A generator for stream ``purpose`` of ``seed``."""
    return np.random.default_rng(derived_seed(seed, purpose))
