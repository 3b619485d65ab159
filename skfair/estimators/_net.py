"""The private skorch machinery behind the public estimators.

The public estimators are plain scikit-learn estimators; their ``fit`` builds
a :class:`FairNeuralNet` (a ``skorch.NeuralNet`` subclass) and stores it as
``net_``. Everything per row travels inside ``X`` as a
:class:`skorch.helper.SliceDict`, so batching, shuffling and the validation
split keep it aligned with the features:

=================  ==============================================================
key                content
=================  ==============================================================
``"X"``            the features / images (numpy, ``float32`` or ``uint8``)
``"groups"``       int64 sensitive group codes (zeros when none were given)
``"sample_weight"`` float32 row weights, normalised to mean 1 over the training set
``"extra"``        float32 extra network inputs (attribute-aware estimators only)
=================  ==============================================================

:meth:`FairNeuralNet.infer` hands only ``"X"`` (and ``"extra"``) to the
module; :meth:`FairNeuralNet.get_loss` reads the rest from the batch and asks
the owning estimator for the per-row task loss and the fairness term.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNet
from skorch.dataset import Dataset, unpack_data
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor
from torch import nn
from torch.utils.data import DataLoader

from ._sampler import GroupBalancedBatchSampler

__all__ = ["AcceleratedFairNeuralNet", "FairModule", "FairNeuralNet", "SliceDataset",
           "collate_batch"]


def _as_input(x):
    """A ``uint8`` image batch as float [0, 1]; anything else unchanged."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def _on_device(x, device):
    """``skorch.utils.to_tensor(x, device)``, without a dispatch for a tensor already on
    ``device`` (the training step's batch tensors: this runs several times per step)."""
    if isinstance(x, torch.Tensor) and str(x.device) == device:
        return x
    return to_tensor(x, device=device)


class FairModule(nn.Module):
    """The trained network: the user's module plus the fairness term.

    ``forward`` returns ``(output,)`` or ``(output, embedding)`` (the latter
    when the fairness term needs the embedding), a tuple in both cases so
    skorch can move and concatenate it.
    """

    def __init__(self, body, fairness=None):
        super().__init__()
        self.body = body
        self.fairness = fairness
        self.keep_embedding = bool(getattr(fairness, "needs_embedding", False))

    def forward(self, X, extra=None):
        out = self.body(X) if extra is None else self.body(X, extra=extra)
        emb = None
        if isinstance(out, tuple | list):
            out, emb = out[0], (out[1] if len(out) > 1 else None)
        if self.keep_embedding and emb is not None:
            return out, emb
        return (out,)


class _Batch:
    """A whole mini-batch fetched at once (see :meth:`SliceDataset.__getitems__`)."""

    __slots__ = ("X", "y")

    def __init__(self, X, y):
        self.X, self.y = X, y


class SliceDataset(Dataset):
    """skorch ``Dataset`` over a dict of arrays that fetches whole batches.

    ``__getitems__`` indexes every array once per batch (numpy fancy
    indexing) instead of once per row, and :func:`collate_batch` turns the
    result into tensors: the data loader cost no longer grows with Python
    calls per row.
    """

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        X = {k: v[idx] for k, v in self.X.items()}
        y = None if self.y is None else self.y[idx]
        return _Batch(X, y)


def collate_batch(batch):
    """Turn a :class:`_Batch` (or a list of per-row samples) into tensors."""
    if isinstance(batch, _Batch):
        X = {k: torch.as_tensor(v) for k, v in batch.X.items()}
        n = len(next(iter(batch.X.values())))
        y = torch.zeros(n) if batch.y is None else torch.as_tensor(batch.y)
        return X, y
    return torch.utils.data.default_collate(batch)


def _uses_cuda_graphs(compile_kwargs):
    """Whether ``torch.compile(**compile_kwargs)`` replays CUDA graphs (on a GPU)."""
    options = compile_kwargs.get("options") or {}
    if "triton.cudagraphs" in options:
        return bool(options["triton.cudagraphs"])
    return compile_kwargs.get("mode") in ("reduce-overhead", "max-autotune")


def _clone_outputs(out):
    """A detached copy of a tensor or of a tuple/list of them."""
    if isinstance(out, torch.Tensor):
        return out.detach().clone()
    if isinstance(out, tuple | list):
        return type(out)(_clone_outputs(o) for o in out)
    return out


class FairNeuralNet(NeuralNet):
    """``skorch.NeuralNet`` whose loss is ``task + lam * fairness``.

    Parameters
    ----------
    module : FairModule
        The (initialised) network.
    owner : FairNetBase
        The public estimator that built this net; provides
        ``get_task_loss``, ``get_fairness_term``, ``lam`` and ``n_groups_``.
    batch_sampling : {"random", "group_balanced", "group_class_balanced"}
        Training batches: shuffled, or :class:`GroupBalancedBatchSampler` on
        the group codes or on the (group, class) cells.
    augmentation : callable or None
        Applied to the training batch ``X`` on the device in
        :meth:`train_step_single`.
    step_compile : dict or None
        Keyword arguments of ``torch.compile`` for :meth:`forward_loss`, the
        training step's forward pass and loss (``{}``: the defaults); ``None``
        runs it eagerly. Validation and prediction always run eagerly.
    **kwargs
        Passed to ``skorch.NeuralNet``.
    """

    def __init__(self, module, *args, owner=None, batch_sampling="random",
                 augmentation=None, step_compile=None, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.owner = owner
        self.batch_sampling = batch_sampling
        self.augmentation = augmentation
        self.step_compile = step_compile

    # -- data ---------------------------------------------------------------
    def get_iterator(self, dataset, training=False):
        if training and self.batch_sampling != "random":
            codes = np.asarray(dataset.X["groups"])
            if self.batch_sampling == "group_class_balanced":
                labels = self.owner._stratify_labels(np.asarray(dataset.y))
                codes = codes * (int(labels.max()) + 1) + labels
            n_cells = len(np.unique(codes))
            if self.batch_size < n_cells:
                what = ("(group, class) cells" if self.batch_sampling == "group_class_balanced"
                        else "groups")
                raise ValueError(
                    f"batch_size={self.batch_size} is smaller than the {n_cells} {what} of the "
                    f"training rows; batch_sampling={self.batch_sampling!r} puts a row of "
                    f"each in every batch. Raise batch_size to at least {n_cells}."
                )
            seed = int(torch.randint(2**31 - 1, (1,)))
            sampler = GroupBalancedBatchSampler(codes, self.batch_size, random_state=seed)
            return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_batch)
        return super().get_iterator(dataset, training=training)

    # -- forward --------------------------------------------------------------
    def infer(self, x, **fit_params):
        """Run the module on the batch's ``"X"`` (and ``"extra"``) only.

        ``uint8`` images are scaled to float [0, 1] on the device first, for every
        module and in training, validation and prediction alike.
        """
        if fit_params:
            raise TypeError(f"unexpected forward parameters {sorted(fit_params)}.")
        extra = x.get("extra")
        return self.module_(_as_input(_on_device(x["X"], self.device)),
                            None if extra is None else _on_device(extra, self.device))

    def train_step_single(self, batch, **fit_params):
        """Augment the batch on the device (if asked), then skorch's step.

        Integer (``uint8``) images are scaled to float [0, 1] first, the input
        that :class:`skfair.transformers.Augmentation` expects.
        """
        batch = self._augment(batch)
        if self.step_compile is None:
            return super().train_step_single(batch, **fit_params)
        # skorch's step, with the forward pass and the loss compiled together
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        if fit_params:
            raise TypeError(f"unexpected forward parameters {sorted(fit_params)}.")
        compiled = self.__dict__.get("_compiled_forward_loss")
        if compiled is None:
            compiled = self._compiled_forward_loss = torch.compile(
                self.forward_loss, **self.step_compile)
        graphs = _uses_cuda_graphs(self.step_compile)
        if graphs:  # a new iteration: the last replay's outputs are no longer read
            torch.compiler.cudagraph_mark_step_begin()
        loss, y_pred = compiled(Xi, yi)
        loss.backward()
        if graphs:  # the next replay overwrites y_pred; callbacks may keep it
            y_pred = _clone_outputs(y_pred)
        return {"loss": loss, "y_pred": y_pred}

    def _augment(self, batch):
        """The training batch with ``augmentation`` applied to ``"X"`` (if any)."""
        if self.augmentation is None:
            return batch
        Xi, yi = unpack_data(batch)
        Xi = dict(Xi)
        Xi["X"] = self.augmentation(_as_input(to_tensor(Xi["X"], device=self.device)))
        return Xi, yi

    def forward_loss(self, Xi, yi):
        """``(loss, y_pred)`` of a training batch: :meth:`infer`, then :meth:`get_loss`
        (the function that ``step_compile`` compiles)."""
        y_pred = self.infer(Xi)
        return self.get_loss(y_pred, yi, X=Xi, training=True), y_pred

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: pickling leaves this object as it is
        state.pop("_compiled_forward_loss", None)  # rebuilt on the next training step
        return state

    # -- loss -----------------------------------------------------------------
    def get_loss(self, y_pred, y_true, X=None, training=False):
        """``mean(w * task_loss) + lam * fairness`` for one batch.

        ``y_pred`` is the module's tuple ``(output[, embedding])`` and ``X``
        the batch dict with ``"groups"`` and ``"sample_weight"``; the per-row
        task loss and the fairness term come from the owning estimator's
        ``get_task_loss`` and ``get_fairness_term``.
        """
        owner = self.owner
        out = y_pred[0]
        device = self.device
        y_true = _on_device(y_true, device)
        weight = _on_device(X["sample_weight"], device)
        if weight.dtype != out.dtype:
            weight = weight.to(out.dtype)
        per_sample = owner.get_task_loss(out, y_true)
        loss = (weight * per_sample).mean()
        term = _unwrapped(self.module_).fairness
        if term is not None and owner.lam > 0:
            fair = owner.get_fairness_term(
                out, y_true, _on_device(X["groups"], device), term=term,
                embedding=y_pred[1] if len(y_pred) > 1 else None,
                per_sample_loss=per_sample, sample_weight=weight,
            )
            loss = torch.add(loss, fair, alpha=float(owner.lam))
        return loss


def _unwrapped(module):
    """The module inside a data-parallel wrapper (Accelerate's ``DistributedDataParallel``
    on several GPUs), or ``module`` itself."""
    while isinstance(module, nn.parallel.DistributedDataParallel | nn.DataParallel):
        module = module.module
    return module


class AcceleratedFairNeuralNet(AccelerateMixin, FairNeuralNet):
    """:class:`FairNeuralNet` trained through Hugging Face Accelerate.

    skorch's :class:`skorch.hf.AccelerateMixin` prepares the module, the
    optimizer and the data loaders with the ``accelerator`` and runs each
    training step under its autocast and backward; the batch is augmented
    first, as in :class:`FairNeuralNet`. ``step_compile`` is not used (the
    estimator refuses ``compile`` with an accelerator).
    """

    def train_step_single(self, batch, **fit_params):
        return super().train_step_single(self._augment(batch), **fit_params)
