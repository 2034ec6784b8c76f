"""Transfer learning: start a model from another run's weights (``model.init_from: CKPT``).

Every array of the checkpoint whose name (``<layer name>.<parameter>``, e.g. ``conv2d_1.W``)
and shape match one of the model's is copied in; the rest of the model keeps its fresh
initialization. Freeze what was loaded with ``trainable: false`` on those layers and train a
new head on top (README, "Transfer learning").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import CheckpointError
from ..io.checkpoint import load_checkpoint


@dataclass
class InitReport:
    """What ``init_from`` did: the arrays it loaded, the checkpoint's arrays it skipped (and
    why), and the model's arrays no checkpoint array matched (they keep their initialization)."""
    path: str
    loaded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    fresh: list = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per group (a group with nothing in it is left out)."""
        out = [f"init_from {self.path}: loaded {len(self.loaded)} arrays: {', '.join(self.loaded)}"]
        if self.skipped:
            out.append(f"init_from {self.path}: skipped {len(self.skipped)}: {', '.join(self.skipped)}")
        if self.fresh:
            out.append(f"init_from {self.path}: {len(self.fresh)} kept their initialization: "
                       f"{', '.join(self.fresh)}")
        return out


def load_matching(model, state: dict, path: str = "<state>") -> InitReport:
    """Copy each array of ``state`` into the model array of the same name and shape (cast to
    the model's dtype); report the rest."""
    own = model.state_dict()
    report = InitReport(str(path))
    for key, array in state.items():
        target = own.get(key)
        if not isinstance(array, np.ndarray):
            continue
        if target is None:
            report.skipped.append(f"{key} (not in this model)")
        elif target.shape != array.shape:
            report.skipped.append(f"{key} (shape {array.shape}, the model's {target.shape})")
        else:
            target[...] = array
            report.loaded.append(key)
    report.fresh = [key for key in own if key not in report.loaded]
    return report


def init_from(model, path) -> InitReport:
    """Load the matching weights of the checkpoint at ``path`` into ``model`` (``load_matching``);
    a CheckpointError when the file cannot be read or nothing in it matches."""
    payload = load_checkpoint(path)
    state = payload.get("model")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: no model weights inside")
    report = load_matching(model, state, str(path))
    if not report.loaded:
        raise CheckpointError(f"{path}: none of its {len(state)} arrays matches a layer of this model by name "
                              f"and shape (it has {', '.join(list(state)[:4])}, …); name the layers as it does")
    return report
