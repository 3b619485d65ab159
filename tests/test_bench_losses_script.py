"""Smoke test of ``benchmarks/bench_losses.py``: every requested row is timed and printed.

The benchmark is a script, not part of the package; this runs its ``main`` on a
tiny network for one round so that a change in the losses or the estimators that
breaks it fails here rather than in the next benchmark session. No timing is
asserted (timings belong to the benchmark's own output).
"""

import math

import pytest

TINY = ["--dim", "16", "--hidden", "8", "--batch", "32", "--rounds", "2", "--steps", "1",
        "--warmup", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("bench_losses")


def _rows(out):
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[1] in ("ce", "bce", "l1"):
            rows[parts[0]] = parts
    return rows


@pytest.mark.parametrize("harness", ["bare", "estimator"])
def test_every_requested_row_is_printed(bench, capsys, harness):
    losses = ["dp_l2", "adversarial", "adversarial_linear", "adversary_layers",
              "adversary_layers_linear", "mae_parity"]
    bench.main([*TINY, "--harness", harness, "--losses", *losses])
    rows = _rows(capsys.readouterr().out)
    assert set(rows) == set(losses)
    for name, parts in rows.items():
        ratio = float(parts[4])
        assert math.isfinite(ratio) and ratio > 0, (name, parts)
    # the linear adversary and the adversary's layers alone are reference rows: they do
    # not count towards the worst ratio
    assert rows["adversarial_linear"][-1] == "(reference)"
    for name in ("adversary_layers", "adversary_layers_linear"):
        assert rows[name][-1] == "(reference)" and rows[name][1] == "ce"
    assert rows["adversarial"][-1] in ("ok", "OVER")


def test_linear_adversary_row_trains_a_linear_head(bench):
    loss = bench.fairness_of(bench.ADV_LINEAR, 4)
    head = loss.make_head(8, 4)
    linears = [m for m in head.modules() if type(m).__name__ == "Linear"]
    assert len(linears) == 1 and linears[0].in_features == 8
    assert bench.fairness_of("adversarial", 4).hidden == (64,)


@pytest.mark.parametrize("harness", ["bare", "estimator"])
def test_resnet18_rows(bench, capsys, harness):
    # the torchvision backbone fine-tuned end to end (random weights), on tiny images
    bench.main(["--module", "resnet18", "--image-size", "32", "--batch", "8", "--rounds", "2",
                "--steps", "1", "--warmup", "1", "--threads", "1", "--harness", harness,
                "--losses", "dp_l2", "adversarial"])
    out = capsys.readouterr().out
    assert "module=resnet18" in out and "input=(3, 32, 32)" in out
    rows = _rows(out)
    assert set(rows) == {"dp_l2", "adversarial"}
    assert all(math.isfinite(float(parts[4])) for parts in rows.values())


def test_compile_mode_implies_compile(bench, capsys):
    bench.main([*TINY, "--compile-mode", "default", "--losses", "dp_l2"])
    out = capsys.readouterr().out
    assert "compile=True (default)" in out
    assert "vs eager" in out and set(_rows(out)) == {"dp_l2"}


@pytest.mark.parametrize(("row", "n_layers"), [("adversarial", 2), ("adversarial_linear", 1)])
def test_adversary_layers_rows_do_the_adversarys_backward(bench, row, n_layers):
    # the floor rows' bare calls give the gradients that autograd gives the adversary head
    # (the default one has one hidden layer, the linear one none)
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    head = bench.fairness_of(row, 3).make_head(8, 3)
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == n_layers
    emb = torch.relu(torch.randn(16, 8, dtype=torch.float64)).requires_grad_()
    grad_out = torch.randn(16, 3, dtype=torch.float64)
    head.double()
    head.net(emb).backward(grad_out)
    layers = [(m.weight.detach(), m.bias.detach()) for m in linears]
    g, grads = bench.adversary_layers(layers, emb.detach(), grad_out)
    torch.testing.assert_close(g, emb.grad)
    expected = []
    for m in reversed(linears):
        expected += (m.weight.grad, m.bias.grad)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)


def test_adversary_layers_width_follows_the_module(bench):
    args = bench.build_parser().parse_args(["--hidden", "8"])
    assert bench.embedding_width(args) == 8
    args = bench.build_parser().parse_args(["--module", "resnet18"])
    assert bench.embedding_width(args) == 512
