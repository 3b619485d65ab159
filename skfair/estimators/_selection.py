"""Pick the training epoch on validation fairness (prototype)."""
from __future__ import annotations

import copy

import numpy as np
import torch
from skorch.callbacks import Callback


class FairEpochSelection(Callback):
    def __init__(self, owner, tolerance):
        self.owner = owner
        self.tolerance = tolerance

    def initialize(self):
        self.states_ = []
        return self

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        with torch.no_grad():
            out = net.forward(dataset_valid, training=False)
        out = (out[0] if isinstance(out, tuple) else out).cpu().numpy()
        y = np.asarray(dataset_valid.y)
        groups = np.asarray(dataset_valid.X["groups"])
        score, gap = self.owner._selection_scores(out, y, groups)
        net.history.record("valid_score", score)
        net.history.record("valid_gap", gap)
        self.states_.append(copy.deepcopy(net.module_.state_dict()))

    def on_train_end(self, net, **kwargs):
        scores = np.array(net.history[:, "valid_score"])
        gaps = np.array(net.history[:, "valid_gap"])
        ok = np.flatnonzero(scores >= scores.max() - self.tolerance)
        best = ok[np.lexsort((-scores[ok], gaps[ok]))[0]]
        net.module_.load_state_dict(self.states_[best])
        net.history.record("selected_epoch", int(best) + 1)
        self.states_ = []
