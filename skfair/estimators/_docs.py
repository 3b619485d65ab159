"""Parameter documentation shared by the estimators' docstrings."""

__all__ = ["COMMON_ATTRIBUTES", "COMMON_PARAMS", "fill_doc"]

COMMON_PARAMS = """\
    module : {"mlp", "cnn"}, str, nn.Module class or instance, default="mlp"
        The network. ``"mlp"``: :class:`MLP` over flattened features (an MLP
        head on embeddings); ``"cnn"``: :class:`SmallCNN` for images
        ``(n, C, H, W)``; any other string: a torchvision model name for
        :class:`TorchvisionBackbone`, fine-tuned end to end. A class is
        instantiated with those of ``n_features``, ``n_outputs``,
        ``n_extra``, ``in_channels``, ``hidden_sizes``, ``dropout`` that its
        signature names, plus ``module_params``; an instance is deep-copied.
        A module may return ``(output, embedding)`` (the adversarial
        fairness term needs the embedding) or just the output.
    hidden_sizes : tuple of int, default=(100,)
        Hidden layer widths of the MLP.
    dropout : float in [0, 1), default=0.0
        Dropout of the MLP hidden layers / before the head of image networks.
    module_params : dict, optional
        More keyword arguments of the module (e.g. ``{"weights": None}`` for
        a torchvision backbone, ``{"channels": (8, 16)}`` for the CNN).
    fairness : str, loss object or None, default=None
        Fairness term added to the task loss, by name
        (:data:`skfair.losses.FAIRNESS_LOSSES`: ``"dp_l2"``, ``"dp_mi"``,
        ``"eo_l2"``, ``"eo_mi"``, ``"iou"``, ``"iou_pairwise"`` for
        classifiers; ``"group_balanced"``, ``"adversarial"``,
        ``"adversarial_confusion"`` for any task; ``"mean_parity"``,
        ``"mae_parity"`` for regression) or as a loss object of
        :mod:`skfair.losses` (deep-copied at fit; its parameters are
        grid-searchable as ``fairness__<name>``). The adversarial losses train
        an adversary head on the module's embedding: ``"adversarial"`` through
        gradient reversal, ``"adversarial_confusion"`` by pushing the
        adversary's prediction towards chance (see
        :class:`skfair.losses.AdversarialLoss`).
    lam : float >= 0, default=1.0
        Weight of the fairness term: ``loss = task + lam * fairness``.
    fairness_params : dict, optional
        Constructor parameters of the fairness loss (e.g. ``{"hidden": (32,),
        "strength": 1.0}`` for the adversary head). Ignored, with a
        ``UserWarning``, when ``fairness`` is None.
    weighting : weighting object, optional
        An object of :mod:`skfair.weighting` (``get_weights(sensitive_features,
        y)``); its weights multiply ``sample_weight``. Its parameters are
        grid-searchable as ``weighting__<name>``. One that must be fitted
        (``AffirmativeActionWeighting(k=...)``) is fitted on the training data,
        with this estimator without ``weighting`` and ``fairness`` as its
        default baseline (an attribute-aware estimator with
        ``sensitive_columns`` passes it ``X`` with those columns, so the
        baseline sees the attributes too); one given fitted keeps its state.
    max_epochs : int, default=30
        Training epochs (fewer with ``early_stopping``).
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, default=128
        Mini-batch size.
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Optimizer (``"sgd"`` uses momentum 0.9). ``"adam"`` and ``"adamw"`` use
        torch's fused kernel where the device has one (CUDA; CPU from torch 2.4):
        the same update in fewer operations. A class is used as given.
    weight_decay : float, default=0.0
        L2 penalty of the optimizer.
    max_grad_norm : float, optional
        Clip the norm of all the gradients of a step, taken together, to this
        value before the optimizer step (``torch.nn.utils.clip_grad_norm_``);
        it damps the loss spikes a large ``lam`` can cause. ``None``: no
        clipping.
    compile : bool or dict, default=False
        Compile the training step's forward pass and loss together with
        ``torch.compile`` (a dict: its keyword arguments, e.g.
        ``{"mode": "max-autotune"}`` or ``{"backend": "aot_eager"}``). The
        compiler derives the backward of the whole objective and fuses the
        fairness term's small operations with the network's. The first steps
        compile (seconds; once more for a smaller last batch); the default
        backend needs a C++ compiler on CPU and Triton on CUDA. Validation,
        prediction and the optimizer step run eagerly. On a GPU a small
        network's step is bound by kernel launches, which each eager fairness
        term multiplies; ``{"mode": "reduce-overhead"}`` replays the step as
        CUDA graphs. Each such step copies the predictions it hands to
        skorch's callbacks, since the next replay overwrites them.
    batch_sampling : {"random", "group_balanced", "group_class_balanced"}, \
            default="random"
        ``"group_balanced"`` draws training batches with
        :class:`GroupBalancedBatchSampler` so every group is in every batch;
        ``"group_class_balanced"`` (classifiers) puts every (group, class)
        cell in every batch, which the equalized-odds and IoU terms compare
        (``batch_size`` must be at least the number of cells).
    valid_split : float in (0, 1), optional
        Fraction of rows held out for validation, stratified on the
        sensitive group x class cells (falling back to groups, then classes);
        the validation loss (with the fairness term) appears in the epoch
        table. Nothing fitted sees the held-out rows: the network, the
        ``weighting`` (and its subgroups), the class weights and the
        regressor's target scaling use the training rows; the validation
        rows are weighed on their own.
    early_stopping : int, optional
        Patience in epochs: stop when the validation loss (training loss
        without ``valid_split``) has not improved and restore the best
        weights.
    augmentation : callable, optional
        Applied to every training batch of ``X`` on the device (e.g.
        :class:`skfair.transformers.Augmentation`); never at predict time.
    device : str, default="auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``...
        ``"cuda"`` without CUDA raises ``ValueError``.
    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate with skorch's
        ``skorch.hf.AccelerateMixin``: the accelerator places the network and
        the batches (leave ``device="auto"``), and runs mixed precision and
        data-parallel training on several GPUs when the script is started
        with ``accelerate launch``. Every process then computes the fairness
        term on its own share of the batch. Not combined with ``compile``
        (``Accelerator(dynamo_backend=...)`` compiles instead).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split (torch's global generator is left untouched).
    verbose : int, default=0
        ``> 0`` prints skorch's epoch table (the progress display)."""

COMMON_ATTRIBUTES = """\
    net_ : skorch.NeuralNet
        The trained private skorch net (``net_.module_`` is the network,
        ``net_.history`` the training history).
    n_epochs_ : int
        Epochs actually run.
    n_groups_ : int
        Number of sensitive groups seen at fit (1 without sensitive features).
    sensitive_groups_ : DataFrame or None
        Attribute values of every group code.
    weighting_ : weighting object or None
        The weighting used: a fitted clone of ``weighting``, or a copy of it.
    device_ : str
        Device the network was trained on.
    n_features_in_ : int
        Number of features (channels for images) seen at fit.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` is a DataFrame with string column names."""


def fill_doc(obj):
    """Substitute ``%(common_params)s`` and ``%(common_attributes)s`` in a docstring."""
    obj.__doc__ = obj.__doc__.replace("%(common_params)s", COMMON_PARAMS).replace(
        "%(common_attributes)s", COMMON_ATTRIBUTES
    )
    return obj
