"""The descriptive (energy-based) model of Choi et al., sampled by Langevin dynamics.

Choi, Zhang & Liu ("Gender Fairness in Multi-label Classification using
Auxiliary Tasks", section 3.3, after Xie et al. 2016, "A theory of generative
ConvNet") models the distribution of image embeddings as a Gibbs
distribution ``p(x) ~ exp(-U(x))`` with

    U(x) = f_theta(x) + ||x||^2 / (2 sigma^2),

``f_theta`` a learned network (Choi et al.: ``-sum_k w_k * filter_k(x)``) and the
Gaussian reference term ``||x||^2 / (2 sigma^2)``, learns ``theta`` by
maximum likelihood with MCMC (contrastive divergence) and draws samples with
Langevin dynamics

    x <- x - (eps^2 / 2) dU/dx + eps * N(0, I).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

__all__ = ["DescriptiveModel"]


def _resolve_device(device):
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; use 'auto' or 'cpu'."
        )
    return device


def _seed(random_state):
    """An int seed drawn from ``random_state`` (int, RandomState or None)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class _EnergyNet(nn.Module):
    """``f_theta``: an MLP with smooth (SiLU) activations and a scalar output.

    Smooth activations give the Langevin sampler a continuous gradient
    ``dU/dx`` (a ReLU network's is piecewise constant).
    """

    def __init__(self, n_features, hidden_sizes):
        super().__init__()
        layers, width = [], n_features
        for h in hidden_sizes:
            layers += [nn.Linear(width, h), nn.SiLU()]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).squeeze(-1)


class DescriptiveModel(BaseEstimator):
    """Energy-based ("descriptive") model of feature vectors, Langevin-sampled.

    The density is ``p(x) ~ exp(-U(x))`` with the energy

    ``U(x) = f_theta(x) + ||x||^2 / (2 sigma^2)``,

    ``f_theta`` an MLP and ``||x||^2 / (2 sigma^2)`` the Gaussian reference
    term of Choi et al. (which also keeps ``U`` bounded below far from the
    data). Everything happens on *standardised* inputs: ``fit`` stores the
    per-feature mean and standard deviation and the model, its energy and
    the Langevin chains live in ``z = (x - mean_) / scale_``; :meth:`sample`
    returns samples in the original units. With ``sigma=1`` an untrained
    ``f_theta = 0`` is then already the standard normal that matches every
    feature's mean and variance, and ``f_theta`` learns the rest
    (correlations, modes).

    **Learning** is maximum likelihood by contrastive divergence: each step
    lowers the energy of a mini-batch of data and raises that of a batch of
    Langevin samples from the current model,
    ``loss = mean f(z_data) - mean f(z_model) + alpha * mean(f(z_data)^2 +
    f(z_model)^2)`` (the small ``alpha`` term keeps the energy scale bounded,
    as in Du & Mordatch 2019). The negative samples come from

    * ``chains="persistent"`` (default): persistent chains (PCD, Tieleman
      2008) kept in a buffer of ``n_chains`` states initialised from the
      reference ``N(0, sigma^2 I)``; each step takes a batch of them, runs
      ``n_steps`` Langevin steps and writes them back, a fraction
      ``reinit_frac`` being restarted from the reference first. Chains thus
      run for many steps in total and approach the model distribution.
    * ``chains="noise"``: short-run chains started afresh from the reference
      at every step (Nijkamp et al. 2019); the model then learns to produce
      data-like samples in exactly ``n_steps`` steps, and :meth:`sample`
      should use the same ``n_steps``/``step_size``.

    **Sampling** runs Langevin dynamics
    ``z <- z - (eps^2 / 2) dU/dz + eps * N(0, I)`` from the reference
    ``N(0, sigma^2 I)`` (or from given starting points) with noise from a
    ``torch.Generator`` seeded by ``random_state``: the same seed gives the
    same samples. Unadjusted Langevin has a discretisation bias of order
    ``eps^2`` (variances inflated by about ``eps^2 * curvature / 4``).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(64, 64)
        Hidden layer widths of ``f_theta``.
    sigma : float > 0, default=1.0
        Standard deviation of the Gaussian reference term, in standardised
        units.
    chains : {"persistent", "noise"}, default="persistent"
        Where the negative (model) samples of contrastive divergence start:
        see above.
    n_chains : int, default=1000
        Size of the persistent chain buffer (``chains="persistent"``).
    reinit_frac : float in [0, 1], default=0.05
        Share of persistent chains restarted from the reference per step.
    n_steps : int, default=20
        Langevin steps per training iteration.
    step_size : float > 0, default=0.2
        Langevin step ``eps`` in standardised units (training and default for
        :meth:`sample`).
    sample_steps : int, default=300
        Default number of Langevin steps of :meth:`sample` (from the
        reference); ``chains="noise"`` models are best sampled with
        ``n_steps``.
    max_iter : int, default=400
        Contrastive-divergence steps (mini-batches).
    batch_size : int, default=256
        Data rows (and negative samples) per step.
    lr : float > 0, default=2e-3
        Initial Adam learning rate, annealed to 0 over ``max_iter`` steps
        (cosine schedule).
    alpha : float >= 0, default=0.01
        Weight of the energy-magnitude regulariser. It pulls ``f_theta``
        towards 0, i.e. the model towards the reference Gaussian: large values
        (0.1) visibly weaken learned correlations.
    standardize : bool, default=True
        Standardise the features (recommended: ``sigma`` and ``step_size`` are
        then in units of each feature's spread). With ``False`` the model
        works in the original units.
    device : str, default="cpu"
        Torch device (``"auto"``: CUDA when available).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the mini-batches and the Langevin noise of
        ``fit`` (torch's global generator is left untouched).
    verbose : int, default=0
        Print the contrastive-divergence gap every ``max_iter // 10`` steps.

    Attributes
    ----------
    energy_net_ : torch.nn.Module
        The trained ``f_theta`` (on CPU after fit).
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation (zeros / ones when ``standardize=False``).
    chains_ : ndarray of shape (n_chains, n_features) or None
        Final persistent chain states, standardised units.
    cd_gap_ : list of float
        ``mean f(data) - mean f(model samples)`` per step (negative while the
        model still puts too little mass on the data).
    n_iter_ : int
        Steps run.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    skfair.estimators.FairNetMultiLabelClassifier : uses samples of this model
        to estimate the bias-amplification expectation.

    References
    ----------
    Xie, Lu, Zhu, Wu. "A theory of generative ConvNet", ICML 2016.
    Du, Mordatch. "Implicit generation and generalization in energy-based
    models", NeurIPS 2019. Nijkamp, Hill, Zhu, Wu. "Learning non-convergent
    non-persistent short-run MCMC toward energy-based model", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.generative import DescriptiveModel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([1.0, -1.0], [[1.0, 0.8], [0.8, 1.0]], size=500)
    >>> model = DescriptiveModel(hidden_sizes=(32,), max_iter=200, random_state=0).fit(X)
    >>> S = model.sample(500, random_state=0)
    >>> S.shape
    (500, 2)
    >>> bool(np.allclose(model.sample(5, random_state=1), model.sample(5, random_state=1)))
    True
    """

    _parameter_constraints: dict = {
        "hidden_sizes": ["array-like"],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "chains": [StrOptions({"persistent", "noise"})],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "reinit_frac": [Interval(Real, 0, 1, closed="both")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="neither")],
        "sample_steps": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "standardize": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_sizes=(64, 64),
        sigma=1.0,
        chains="persistent",
        n_chains=1000,
        reinit_frac=0.05,
        n_steps=20,
        step_size=0.2,
        sample_steps=300,
        max_iter=400,
        batch_size=256,
        lr=2e-3,
        alpha=0.01,
        standardize=True,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.hidden_sizes = hidden_sizes
        self.sigma = sigma
        self.chains = chains
        self.n_chains = n_chains
        self.reinit_frac = reinit_frac
        self.n_steps = n_steps
        self.step_size = step_size
        self.sample_steps = sample_steps
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.lr = lr
        self.alpha = alpha
        self.standardize = standardize
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ internals
    def _reference(self, n, n_features, generator, device):
        """``n`` draws of the reference ``N(0, sigma^2 I)`` (standardised units)."""
        return self.sigma * torch.randn(
            (n, n_features), generator=generator, device=device, dtype=torch.float32
        )

    def _energy_grad(self, net, z):
        """``dU/dz`` at ``z`` (no graph kept); also under the caller's
        ``torch.inference_mode()`` (whose tensors cannot enter autograd: ``z`` is
        copied out of it)."""
        with torch.inference_mode(False), torch.enable_grad():
            z = z.detach()
            if z.is_inference():
                z = z.clone()
            z.requires_grad_(True)
            (grad,) = torch.autograd.grad(net(z).sum(), z)
        return grad + z.detach() / self.sigma**2

    def _langevin(self, net, z, n_steps, step_size, generator):
        """``n_steps`` unadjusted Langevin steps from ``z`` (standardised units)."""
        half = 0.5 * step_size**2
        for _ in range(n_steps):
            noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
            z = z - half * self._energy_grad(net, z) + step_size * noise
        return z.detach()

    def _to_z(self, X):
        return (X - self.mean_) / self.scale_

    def _from_z(self, Z):
        return Z * self.scale_ + self.mean_

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the energy by contrastive divergence against Langevin samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Feature vectors (embeddings); ``n_samples >= 2``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        hidden = tuple(int(h) for h in np.atleast_1d(self.hidden_sizes))
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden_sizes must hold positive ints, got {self.hidden_sizes!r}.")
        n, d = X.shape
        if self.standardize:
            self.mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(d), np.ones(d)
        device = _resolve_device(self.device)
        seed = _seed(self.random_state)
        rng = np.random.default_rng(seed)
        gen = torch.Generator(device=device).manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = _EnergyNet(d, hidden).to(device)
        for p in net.parameters():
            p.requires_grad_(True)
        Z = torch.as_tensor(self._to_z(X), dtype=torch.float32, device=device)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, betas=(0.5, 0.999))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.max_iter)
        bs = min(self.batch_size, n)
        buffer = None
        if self.chains == "persistent":
            buffer = self._reference(self.n_chains, d, gen, device)
        self.cd_gap_ = []
        report = max(self.max_iter // 10, 1)
        for it in range(self.max_iter):
            z_data = Z[torch.as_tensor(rng.choice(n, size=bs, replace=n < bs), device=device)]
            if buffer is None:
                z0 = self._reference(bs, d, gen, device)
            else:
                idx = torch.as_tensor(
                    rng.choice(len(buffer), size=min(bs, len(buffer)), replace=False),
                    device=device,
                )
                z0 = buffer[idx]
                restart = torch.rand(len(idx), generator=gen, device=device) < self.reinit_frac
                z0 = torch.where(restart[:, None], self._reference(len(idx), d, gen, device), z0)
            z_model = self._langevin(net, z0, self.n_steps, self.step_size, gen)
            if buffer is not None:
                buffer[idx] = z_model
            f_data, f_model = net(z_data), net(z_model)
            gap = f_data.mean() - f_model.mean()
            loss = gap + self.alpha * ((f_data**2).mean() + (f_model**2).mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            self.cd_gap_.append(float(gap.detach()))
            if self.verbose and (it + 1) % report == 0:
                print(f"[DescriptiveModel] step {it + 1}/{self.max_iter} "
                      f"cd_gap={np.mean(self.cd_gap_[-report:]):+.4f}")
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        self.energy_net_ = net.cpu()
        self.chains_ = None if buffer is None else buffer.cpu().numpy().astype(np.float64)
        self.n_iter_ = self.max_iter
        return self

    # -------------------------------------------------------------- queries
    def energy(self, X):
        """Energy ``U`` of the standardised rows (``-log p`` up to a constant).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows in the original units.

        Returns
        -------
        U : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "energy_net_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = torch.as_tensor(self._to_z(X), dtype=torch.float32)
        with torch.no_grad():
            f = self.energy_net_(z)
        return (f + (z**2).sum(1) / (2 * self.sigma**2)).numpy().astype(np.float64)

    def score_samples(self, X):
        """Unnormalised log-density ``-U(x)`` of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows in the original units.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``-U`` of the standardised row, up to the (unknown) log
            normalising constant.
        """
        return -self.energy(X)

    def sample(self, n_samples, *, n_steps=None, step_size=None, init=None,
               random_state=None):
        """Draw samples by Langevin dynamics on the learned energy.

        Parameters
        ----------
        n_samples : int >= 1
            Number of samples (chains). Ignored when ``init`` is given.
        n_steps : int >= 0, optional
            Langevin steps; default ``sample_steps``.
        step_size : float > 0, optional
            Langevin step ``eps`` in standardised units; default ``step_size``.
        init : array-like of shape (n_chains, n_features), optional
            Starting points in the original units (e.g. data rows, or earlier
            samples to continue); default: draws of the reference
            ``N(0, sigma^2 I)``.
        random_state : int, RandomState instance or None, default=None
            Seeds the starting points and the Langevin noise (a
            ``torch.Generator``); the same value gives the same samples.

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
            In the original units of ``X``.
        """
        check_is_fitted(self, "energy_net_")
        n_steps = self.sample_steps if n_steps is None else n_steps
        step_size = self.step_size if step_size is None else step_size
        if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 0:
            raise ValueError(f"n_steps must be an int >= 0, got {n_steps!r}.")
        if not isinstance(step_size, Real) or not step_size > 0:
            raise ValueError(f"step_size must be a float > 0, got {step_size!r}.")
        gen = torch.Generator().manual_seed(_seed(random_state))
        if init is None:
            if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
                raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}.")
            z0 = self._reference(int(n_samples), self.n_features_in_, gen, "cpu")
        else:
            init = validate_data(self, init, dtype=np.float64, reset=False)
            z0 = torch.as_tensor(self._to_z(init), dtype=torch.float32)
        z = self._langevin(self.energy_net_, z0, int(n_steps), float(step_size), gen)
        return self._from_z(z.numpy().astype(np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        return tags
