"""Time GroupResampler and support weights on 100k and 1M rows x 3 sensitive attributes.

Run: ``.venv/bin/python benchmarks/bench_resampling.py``. Targets: < 1 s each at 1M
rows; time(1M) / time(100k) close to 10 (linear, plus one O(n log n) sort).
"""

import argparse
import time

import numpy as np
import pandas as pd

from skfair.samplers import GroupResampler
from skfair.weighting import support_weights


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    S = pd.DataFrame({
        "race": rng.choice(["white", "black", "asian", "indian"], n, p=[0.6, 0.2, 0.15, 0.05]),
        "gender": rng.choice(["F", "M"], n),
        "age": rng.choice(["0-20", "20-40", "40-60", "60+"], n, p=[0.2, 0.5, 0.2, 0.1]),
    })
    X = rng.normal(size=(n, 16)).astype(np.float32)
    y = rng.integers(0, 2, n)
    return X, y, S


def best_of(func, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    sizes = (100_000, 1_000_000)
    tasks = {
        "GroupResampler('mean').fit_resample": lambda X, y, S: GroupResampler(
            "mean", random_state=0).fit_resample(X, y, sensitive_features=S),
        "GroupResampler('mean', stratify_target)": lambda X, y, S: GroupResampler(
            "mean", stratify_target=True, random_state=0).fit_resample(
                X, y, sensitive_features=S),
        "support_weights(intersectional)": lambda X, y, S: support_weights(
            S, scheme="intersectional"),
        "support_weights(marginal)": lambda X, y, S: support_weights(S, scheme="marginal"),
    }
    data = {n: make_data(n) for n in sizes}
    print(f"3 sensitive attributes (4 x 2 x 4 = 32 cells), X float32 (n, 16); "
          f"best of {args.repeat}")
    print(f"{'task':42s} {'100k [s]':>10s} {'1M [s]':>10s} {'1M/100k':>9s} {'<1s@1M':>7s}")
    for name, task in tasks.items():
        t = {n: best_of(lambda n=n, task=task: task(*data[n]), args.repeat) for n in sizes}
        ok = "yes" if t[sizes[1]] < 1.0 else "NO"
        print(f"{name:42s} {t[sizes[0]]:10.3f} {t[sizes[1]]:10.3f} "
              f"{t[sizes[1]] / t[sizes[0]]:9.1f} {ok:>7s}")


if __name__ == "__main__":
    main()
