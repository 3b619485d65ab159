"""Command line of skfair: ``skfair summary`` and ``skfair benchmark``."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import time
from pathlib import Path

__all__ = ["main"]

DEFAULT_OUT = "skfair_results"


class CLIError(Exception):
    """A user error: printed as one line, exit status 2, no traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``skfair: error: ...``), no usage dump."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _positive_int(text):
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _cmd_summary(args):
    from skfair.datasets import dataset_summary, make_colored_digits

    bunch = make_colored_digits(bias=args.bias, split="both", random_state=args.seed)
    print(dataset_summary(bunch))
    return 0


# --------------------------------------------------------------------------- benchmark
def _resolve_device(device):
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise CLIError(
                f"--device {device} was requested but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use --device auto or --device cpu"
            )
        return device
    if device == "cpu":
        return device
    raise CLIError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")


def _split_list(value):
    if value is None:
        return None
    items = tuple(s.strip() for s in value.split(",") if s.strip())
    if not items:
        raise CLIError(f"expected a comma-separated list, got {value!r}")
    return items


def _default_out(args, data):
    sens = "x".join(data.sensitive_names)
    suffix = "-quick" if args.quick else ""
    task = data.task.replace(">", "_gt_")
    return Path(DEFAULT_OUT) / f"{data.dataset}-{task}-{sens}{suffix}"


def default_cache_dir():
    """``$SKFAIR_CACHE_DIR``, else ``$XDG_CACHE_HOME/skfair``, else ``~/.cache/skfair``:
    features (face descriptors above all) are shared by every run, task and
    output folder."""
    import os

    env = os.environ.get("SKFAIR_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "skfair"


def _cmd_benchmark(args):
    from skfair.benchmark import DATASETS, METHODS

    if args.list_methods:
        for name, m in METHODS.items():
            print(f"{name:24s} {m.family:9s} {m.description}")
        return 0
    if args.dataset not in DATASETS:
        raise CLIError(f"unknown dataset {args.dataset!r}; choose from {', '.join(DATASETS)}")
    if args.data_dir is not None and not Path(args.data_dir).expanduser().is_dir():
        raise CLIError(f"--data-dir {args.data_dir!r} does not exist or is not a folder")
    if args.data_dir is not None and args.dataset == "colored_digits":
        raise CLIError("--data-dir is not used by colored_digits (embedded); pick --dataset "
                       "utkface, fairface, adult or compas")
    from skfair.benchmark._methods import MethodError, resolve_methods

    try:
        methods = resolve_methods(args.methods)
    except MethodError as exc:
        raise CLIError(str(exc)) from None
    device = _resolve_device(args.device)
    if args.scheduler is not None and args.backend == "loky":
        raise CLIError("--scheduler needs --backend dask or ray")
    return _run(args, methods, device)


@contextlib.contextmanager
def _threads(count):
    """torch and the BLAS / OpenMP pools of numpy, scikit-learn and fairlearn limited to
    ``count`` threads (every method alike), restored afterwards; ``None``: no limit."""
    if count is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(limits=count):
            yield
    finally:
        torch.set_num_threads(before)


def _run(args, methods, device):
    """The benchmark proper (after argument checks and thread settings)."""
    from skfair.benchmark import DataConfig, machine_info, prepare_data, run_benchmark
    from skfair.benchmark import write_report as _write
    from skfair.benchmark._data import DataError

    started = time.time()
    out = Path(args.out) if args.out else None
    cache_dir = args.cache_dir or default_cache_dir()
    cfg = DataConfig(
        dataset=args.dataset, task=args.task, sensitive=_split_list(args.sensitive),
        data_dir=args.data_dir, seed=args.seed, quick=args.quick, features=args.features,
        backbone=args.backbone, weights=args.weights, image_size=args.image_size,
        backbone_epochs=args.backbone_epochs, device=device, bias=args.bias,
        n_samples=args.n_samples, cache_dir=None if args.no_cache else str(cache_dir),
        verbose=args.verbose,
    )
    log = _logger(args.quiet)
    log(f"skfair benchmark: dataset {args.dataset}, device {device}, seed {args.seed}"
        + (" (quick)" if args.quick else ""))
    # --threads N limits everything; by default the features (a backbone's training,
    # an extraction) use the libraries' own thread counts and the methods one thread:
    # their networks and models are small, so more threads cost more in
    # synchronisation than they save, and collapse when other processes share the cores
    method_threads = args.threads or (1 if device == "cpu" else None)
    try:
        with _threads(args.threads):
            data = prepare_data(cfg, log=log)
    except DataError as exc:
        raise CLIError(str(exc)) from None
    log(f"data: {data.kind} task {data.task!r}, sensitive {' x '.join(data.sensitive_names)}, "
        f"{len(data.y_train)}/{len(data.y_val)}/{len(data.y_test)} train/val/test rows, "
        f"{data.X_train.shape[1]} features")
    try:
        with _threads(method_threads), _backend(args, method_threads, log):
            result = run_benchmark(
                data, methods, seed=args.seed, device=device, quick=args.quick,
                grid_size=args.grid_size, tolerance=args.tolerance,
                select_metric=args.select_metric, head_epochs=args.epochs,
                peer_budget=args.peer_budget, n_jobs=args.n_jobs, log=log,
            )
    except ValueError as exc:
        if "select_metric" in str(exc):
            raise CLIError(str(exc).replace("select_metric=", "--select-metric ")) from None
        raise
    out = out or _default_out(args, data)
    command = "skfair " + " ".join(shlex.quote(a) for a in args.argv)
    with _threads(method_threads):
        machine = machine_info(device)  # the threads the methods ran with
    _write(result, out, command=command, started=started, machine=machine, log=log)
    if result.best and result.noise:
        from skfair.benchmark._report import bias_verdict

        measurable, _ = bias_verdict(result.noise["observed"], result.noise["q95"],
                                     metric=result.noise.get("metric", "eo_difference"))
        if measurable:
            log(f"best skfair method: {result.best}; report: {out / 'report.md'}")
        else:
            log(f"no measurable bias (the baseline's gap is inside the noise floor); "
                f"report: {out / 'report.md'}")
    return 0


@contextlib.contextmanager
def _backend(args, threads, log):
    """joblib's backend for ``--n-jobs``: loky processes here, or a Dask / Ray cluster
    (``--scheduler ADDRESS``; without one, a local cluster of ``--n-jobs`` workers)."""
    if args.backend == "loky":
        yield
        return
    from joblib import parallel_config

    if args.backend == "dask":
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise CLIError("--backend dask needs dask.distributed: pip install "
                           "'skfair-suite[distributed]'") from None
        cluster = None
        if args.scheduler is None:
            cluster = LocalCluster(n_workers=args.n_jobs, threads_per_worker=threads or 1,
                                   processes=True, host="127.0.0.1", dashboard_address=None)
        client = Client(cluster if cluster is not None else args.scheduler)
        log(f"methods on Dask: {client.scheduler_info().get('address', args.scheduler)}, "
            f"{len(client.scheduler_info().get('workers', {}))} workers")
        try:
            with parallel_config(backend="dask"):
                yield
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise CLIError("--backend ray needs ray: pip install 'skfair-suite[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=args.scheduler, num_cpus=None if args.scheduler else args.n_jobs,
                 include_dashboard=False, log_to_driver=False)
    register_ray()
    try:
        with parallel_config(backend="ray"):
            yield
    finally:
        if started:
            ray.shutdown()


def _logger(quiet):
    def log(msg):
        if not quiet:
            print(msg, flush=True)
    return log


def _add_benchmark(sub):
    p = sub.add_parser(
        "benchmark",
        help="compare skfair's mitigations with fairlearn's on one dataset",
        description=(
            "Run every mitigation method side by side on the same features and the same "
            "train/validation/test split, choose each method's lam on validation, and write "
            "results.csv, report.md and plots. With no argument: the embedded colored digits."
        ),
    )
    p.add_argument("--dataset", default="colored_digits",
                   help="colored_digits (default, embedded), utkface, fairface, adult, compas")
    p.add_argument("--data-dir", default=None,
                   help="folder with the dataset's files (default: $SKFAIR_DATA_DIR or "
                        "~/skfair_data)")
    p.add_argument("--task", default=None,
                   help="target: colored_digits parity|digit; utkface gender|race|age "
                        "(regression)|'age>T' (binary, e.g. 'age>30'); fairface "
                        "gender|age|race; adult income; compas recid")
    p.add_argument("--sensitive", default=None,
                   help="comma-separated sensitive attributes; several mean intersections "
                        "(e.g. race,gender)")
    p.add_argument("--methods", default="all",
                   help="'all' (default), 'fast' (without the slow ones) or a comma list; "
                        "see --list-methods")
    p.add_argument("--list-methods", action="store_true", help="list the methods and exit")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--out", default=None,
                   help=f"output folder (default {DEFAULT_OUT}/<dataset>-<task>-<sensitive>)")
    p.add_argument("--cache-dir", default=None,
                   help="feature cache shared by every run (default $SKFAIR_CACHE_DIR or "
                        "~/.cache/skfair)")
    p.add_argument("--no-cache", action="store_true", help="do not cache image features")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--weights", default=None,
                   help="pretrained torchvision weights name (e.g. DEFAULT, downloaded the "
                        "torchvision way) or a local checkpoint of --backbone (resnet18 when "
                        "--backbone is cnn); features are extracted, nothing is trained")
    p.add_argument("--backbone", default="cnn",
                   help="image backbone: cnn (default, trained on the training split) or a "
                        "torchvision name (resnet18, ...)")
    p.add_argument("--features", default="auto",
                   choices=["auto", "pixels", "backbone", "face"],
                   help="image features: auto (pixels for colored_digits; for faces, dlib's "
                        "pretrained face descriptors when the 'faces' extra is installed, "
                        "else backbone); face; backbone (--backbone trained on the training "
                        "split); pixels")
    p.add_argument("--image-size", type=_positive_int, default=None,
                   help="side of the decoded face images (default 32)")
    p.add_argument("--backbone-epochs", type=_positive_int, default=None,
                   help="epochs of the backbone trained on the training split (default 12)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="epochs of every skfair head (default 30; 60 under 1,500 training "
                        "rows, 10 over 20,000)")
    p.add_argument("--grid-size", type=_positive_int, default=None,
                   help="fairlearn GridSearch grid size (default min(max(2**dim, 20), 400))")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="accuracy a tuned method may lose vs the baseline on validation "
                        "(default 0.01 = one point)")
    p.add_argument("--select-metric", default=None,
                   help="fairness metric minimised on validation (default eo_difference; "
                        "mae_bias for regression)")
    p.add_argument("--n-jobs", type=_positive_int, default=1,
                   help="methods fitted at once after the baseline, each with its whole grid "
                        "(default 1); results equal a sequential run's")
    p.add_argument("--backend", default="loky", choices=["loky", "dask", "ray"],
                   help="where --n-jobs runs: loky worker processes here (default), or a "
                        "Dask / Ray cluster (--scheduler, else a local one of --n-jobs "
                        "workers)")
    p.add_argument("--scheduler", default=None,
                   help="address of the Dask scheduler (tcp://host:8786) or Ray cluster "
                        "(ray://host:10001) for --backend dask|ray")
    p.add_argument("--peer-budget", type=float, default=600.0,
                   help="seconds OxonFair's search may take before it is cut and reported "
                        "as such (default 600; its grid grows exponentially with the groups)")
    p.add_argument("--bias", type=float, default=0.95,
                   help="colored_digits: colour-label agreement in training (default 0.95)")
    p.add_argument("--n-samples", type=_positive_int, default=None,
                   help="colored_digits size (default 3000); real data: subsample to this")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="CPU threads of torch and of the BLAS/OpenMP pools that numpy, "
                   "scikit-learn and fairlearn use, for the features and every method "
                   "alike (default: one thread for the methods on a CPU, whose models are "
                   "small, and the libraries' defaults for the features; the face "
                   "descriptor runs one worker process per core)")
    p.add_argument("--quick", action="store_true",
                   help="tiny configuration (a smoke test in well under a minute)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--verbose", type=int, default=0, help="backbone epoch table when > 0")
    p.set_defaults(func=_cmd_benchmark)
    return p


def build_parser():
    parser = _Parser(
        prog="skfair",
        description="Measure and mitigate demographic bias with scikit-learn and PyTorch.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    p = sub.add_parser("summary", help="summarise the embedded colored-digits dataset")
    p.add_argument("--bias", type=float, default=0.95,
                   help="colour-label agreement in the training split (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_summary)
    _add_benchmark(sub)
    return parser


def main(argv=None):
    """Entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.argv = argv
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 0
        return args.func(args)
    except CLIError as exc:
        print(f"skfair: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skfair: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
