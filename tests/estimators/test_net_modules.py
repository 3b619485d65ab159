"""MLP, SmallCNN, TorchvisionBackbone: outputs, embeddings, extra inputs, inputs."""

import numpy as np
import pytest
import torch

from skfair.estimators import MLP, SmallCNN, TorchvisionBackbone


def test_mlp_returns_logits_and_last_hidden_layer():
    torch.manual_seed(0)
    net = MLP(6, 3, hidden_sizes=(5, 4))
    x = torch.randn(7, 2, 3)  # flattened to 6 features
    logits, emb = net(x)
    assert logits.shape == (7, 3) and emb.shape == (7, 4) and net.embedding_dim == 4
    # the head is a linear map of the embedding
    torch.testing.assert_close(logits, net.head(emb))


def test_mlp_without_hidden_layers_is_linear_and_embeds_the_input():
    net = MLP(3, 2, hidden_sizes=())
    x = torch.randn(4, 3)
    logits, emb = net(x)
    torch.testing.assert_close(emb, x)
    torch.testing.assert_close(logits, x @ net.head.weight.T + net.head.bias)


def test_mlp_extra_inputs_are_concatenated():
    net = MLP(2, 1, hidden_sizes=(), n_extra=2)
    x, extra = torch.randn(3, 2), torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    logits, _ = net(x, extra)
    expected = torch.cat([x, extra], 1) @ net.head.weight.T + net.head.bias
    torch.testing.assert_close(logits, expected)
    with pytest.raises(ValueError, match="n_extra=2"):
        net(x)
    with pytest.raises(ValueError, match="expects 2 input features, got 3"):
        MLP(2, 1)(torch.randn(3, 3))


def test_small_cnn_accepts_uint8_and_channels_last():
    torch.manual_seed(0)
    net = SmallCNN(3, 4, channels=(4,), embedding_dim=8)
    x = torch.rand(2, 3, 12, 12)
    as_uint8 = (x * 255).round().to(torch.uint8)
    out_float, emb = net(as_uint8.float() / 255)
    out_uint8, _ = net(as_uint8)
    out_last, _ = net(as_uint8.permute(0, 2, 3, 1))
    torch.testing.assert_close(out_uint8, out_float)
    torch.testing.assert_close(out_last, out_float)
    assert emb.shape == (2, 8)


def test_small_cnn_concatenates_extra_before_the_head():
    net = SmallCNN(1, 2, channels=(2,), embedding_dim=3, n_extra=1)
    assert net.head.in_features == 4
    out, _ = net(torch.rand(5, 1, 8, 8), torch.ones(5, 1))
    assert out.shape == (5, 2)


def test_torchvision_backbone_replaces_the_classifier(tmp_path):
    torch.manual_seed(0)
    net = TorchvisionBackbone("resnet18", n_outputs=3, n_extra=2)
    logits, emb = net(torch.rand(2, 3, 32, 32), torch.zeros(2, 2))
    assert logits.shape == (2, 3) and emb.shape == (2, 512)
    assert isinstance(net.backbone.fc, torch.nn.Identity)
    assert all(p.requires_grad for p in net.parameters())  # fine-tuned end to end


def test_torchvision_backbone_loads_a_local_checkpoint(tmp_path):
    import torchvision

    torch.manual_seed(1)
    source = torchvision.models.get_model("resnet18", weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(source.state_dict(), path)
    net = TorchvisionBackbone("resnet18", n_outputs=2, weights=str(path))
    torch.testing.assert_close(net.backbone.conv1.weight, source.conv1.weight)


def test_torchvision_backbone_rejects_unknown_names():
    with pytest.raises(ValueError, match="not a torchvision model name"):
        TorchvisionBackbone("resnet_does_not_exist", n_outputs=2)


def test_small_cnn_batch_norm_option():
    import torch
    from torch import nn

    from skfair.estimators import SmallCNN

    plain = SmallCNN(3, 2, channels=(4, 8))
    bn = SmallCNN(3, 2, channels=(4, 8), batch_norm=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    norms = [m for m in bn.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [m.num_features for m in norms] == [4, 8]
    convs = [m for m in bn.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)  # BN makes the conv bias redundant
    logits, emb = bn(torch.rand(5, 3, 16, 16))
    assert logits.shape == (5, 2) and emb.shape == (5, 64)


def test_on_device_keeps_tensors_already_there_and_converts_the_rest():
    from skfair.estimators._net import _on_device

    t = torch.arange(3)
    assert _on_device(t, "cpu") is t  # no copy, no dispatch
    arr = np.arange(3, dtype=np.float32)
    out = _on_device(arr, "cpu")
    assert isinstance(out, torch.Tensor) and out.device.type == "cpu"
    np.testing.assert_array_equal(out.numpy(), arr)
