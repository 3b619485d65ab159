"""Command line of skfair: ``skfair summary`` (and the benchmark, see below)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


class CLIError(Exception):
    """A user error: printed as one line, exit status 2, no traceback."""


def _cmd_summary(args):
    from skfair.datasets import dataset_summary, make_colored_digits

    bunch = make_colored_digits(bias=args.bias, split="both", random_state=args.seed)
    print(dataset_summary(bunch))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skfair",
        description="Measure and mitigate demographic bias with scikit-learn and PyTorch.",
    )
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("summary", help="summarise the embedded colored-digits dataset")
    p.add_argument("--bias", type=float, default=0.95,
                   help="colour-label agreement in the training split (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_summary)
    return parser


def main(argv=None):
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"skfair: error: {exc}", file=sys.stderr)
        return 2
