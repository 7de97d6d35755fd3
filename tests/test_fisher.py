import pytest
import torch
from torch import nn

from blip_rl import BlipConv2d, BlipLinear, blip_layers, fisher_diagonal


def sampled_log_likelihood(model: nn.Module, batch):
    """log p(y|x) with y drawn from the model's own prediction (Eq. 6)."""
    x, gen = batch
    logits = model(x)
    with torch.no_grad():
        y = torch.multinomial(torch.softmax(logits, 1), 1, generator=gen).squeeze(1)
    return torch.log_softmax(logits, 1).gather(1, y[:, None]).squeeze(1)


def per_sample_loop_reference(model, x, seed):
    """The definition: one backward per sample, square, average."""
    gen = torch.Generator().manual_seed(seed)
    logits = model(x).detach()
    y = torch.multinomial(torch.softmax(logits, 1), 1, generator=gen).squeeze(1)
    params = [p for _, m in blip_layers(model) for _, p, _ in m.blip_tensors()]
    acc = [torch.zeros_like(p) for p in params]
    for b in range(len(x)):
        log_p = torch.log_softmax(model(x[b : b + 1]), 1)[0, y[b]]
        for a, g in zip(acc, torch.autograd.grad(log_p, params)):
            a += g * g
    return [a / len(x) for a in acc]


def make_net(bias: bool) -> nn.Module:
    return nn.Sequential(
        BlipConv2d(2, 3, 3, stride=2, padding=1, bias=bias),
        nn.ReLU(),
        BlipConv2d(3, 4, 2, bias=bias),
        nn.Flatten(),
        BlipLinear(4 * 3 * 3, 6, bias=bias),
        nn.Tanh(),
        BlipLinear(6, 5, bias=bias),
    )


@pytest.mark.parametrize("bias", [True, False])
def test_fisher_equals_mean_of_per_sample_squared_gradients(bias):
    torch.manual_seed(0)
    model = make_net(bias).double()
    x = torch.randn(12, 2, 8, 8, dtype=torch.float64)
    layers = [m for _, m in blip_layers(model)]
    # The same generator seed, so reference and hooks sample the same labels.
    gen = torch.Generator().manual_seed(3)
    batches = [(x, gen)]
    fisher, n = fisher_diagonal(model, batches, sampled_log_likelihood, layers)
    assert n == 12
    got = [fisher[m][name] for m in layers for name, _, _ in m.blip_tensors()]
    ref = per_sample_loop_reference(model, x, seed=3)
    for g, r in zip(got, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-12)


def test_fisher_over_several_batches_is_the_mean_over_all_samples():
    torch.manual_seed(1)
    model = make_net(True).double()
    x = torch.randn(10, 2, 8, 8, dtype=torch.float64)
    layers = [m for _, m in blip_layers(model)]

    def fixed_label_ll(model, xb):
        return torch.log_softmax(model(xb), 1)[:, 0]

    whole, _ = fisher_diagonal(model, [x], fixed_label_ll, layers)
    split, n = fisher_diagonal(model, [x[:3], x[3:]], fixed_label_ll, layers)
    assert n == 10
    for m in layers:
        for name in whole[m]:
            torch.testing.assert_close(whole[m][name], split[m][name], rtol=1e-10, atol=0)


def test_fisher_leaves_parameter_grads_and_training_mode_alone():
    model = make_net(True)
    model.train()
    layers = [m for _, m in blip_layers(model)]
    fisher_diagonal(model, [torch.randn(4, 2, 8, 8)], lambda m, x: m(x)[:, 0], layers)
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_linear_on_sequences_sums_positions_before_squaring():
    torch.manual_seed(2)
    layer = BlipLinear(3, 2).double()
    x = torch.randn(5, 4, 3, dtype=torch.float64)
    fisher, _ = fisher_diagonal(layer, [x], lambda m, xb: m(xb).sum((1, 2)), [layer])
    ref = torch.zeros_like(layer.weight)
    for b in range(5):
        (g,) = torch.autograd.grad(layer(x[b : b + 1]).sum(), [layer.weight])
        ref += g * g
    torch.testing.assert_close(fisher[layer]["weight"], ref / 5)


def test_log_likelihood_must_be_per_sample():
    layer = BlipLinear(3, 2)
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        fisher_diagonal(layer, [torch.randn(4, 3)], lambda m, x: m(x).sum(), [layer])


@pytest.mark.parametrize(
    "kernel, stride, padding, dilation",
    [(3, 1, 0, 1), ((3, 2), (2, 1), (1, 2), (2, 1)), (8, 4, 0, 1)],
)
def test_conv_patches_equal_unfold(kernel, stride, padding, dilation):
    from blip_rl.core.fisher import conv_patches

    layer = BlipConv2d(2, 3, kernel, stride=stride, padding=padding, dilation=dilation)
    x = torch.randn(3, 2, 20, 19)
    ref = nn.functional.unfold(x, layer.kernel_size, layer.dilation, layer.padding, layer.stride)
    assert torch.equal(conv_patches(layer, x), ref.transpose(1, 2))
