"""Reference encoders: shapes, exact parameter counts, CompressAI-compatible GDN, GDN baking, registry."""

import copy

import pytest
import torch
from torch import nn

import oracle
from fsplit_mobile.entropy import EntropyBottleneck
from fsplit_mobile.models import (
    GDN,
    GDN1,
    BakedGDN,
    DeviceModel,
    EntropicStudentEncoder,
    FactorizedPriorDecoder,
    FactorizedPriorEncoder,
    FrankenSplitEncoder,
    bake_gdn,
    registry,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv_params(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def gdn_params(c):
    return c + c * c


def randomize_gdn(module: nn.Module, seed: int = 0) -> nn.Module:
    """Move every GDN away from its identity-like init so that tests see real normalisation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, GDN):
                m.beta.copy_(m.beta_reparam.init(0.5 + torch.rand(m.beta.shape, generator=g)))
                m.gamma.copy_(m.gamma_reparam.init(0.2 * torch.rand(m.gamma.shape, generator=g)))
    return module


# ---- FrankenSplit -----------------------------------------------------------------------------------------------
def test_frankensplit_shapes_and_parameter_count():
    enc = FrankenSplitEncoder().eval()
    assert n_params(enc) == 141_696
    # the same number from the block structure: conv3x3/2, conv3x3, conv1x1/2 skip, with biases
    expected = sum(
        conv_params(a, b, 3) + conv_params(b, b, 3) + conv_params(a, b, 1) for a, b in ((3, 48), (48, 64), (64, 48))
    )
    assert expected == 141_696
    with torch.no_grad():
        y = enc(torch.randn(2, 3, 224, 224))
    assert y.shape == (2, 48, 28, 28)
    assert enc.latent_channels == 48 and enc.downsampling == 8
    assert not any(isinstance(m, (nn.BatchNorm2d, GDN)) for m in enc.modules())


def test_frankensplit_block_is_relu_of_two_convs_plus_strided_skip():
    enc = FrankenSplitEncoder().eval()
    block = enc.layers[0]
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        manual = torch.relu(block.conv2(block.conv1(x))) + block.skip(x)
        assert torch.equal(block(x), manual)
    assert block.conv1.stride == (2, 2) and block.skip.stride == (2, 2) and block.skip.kernel_size == (1, 1)


# ---- SC2-benchmark entropic student -----------------------------------------------------------------------------
def test_entropic_student_shapes_and_parameter_count():
    enc = EntropicStudentEncoder().eval()
    expected = (
        conv_params(3, 96, 5, bias=False)
        + gdn_params(96)
        + conv_params(96, 48, 5, bias=False)
        + gdn_params(48)
        + conv_params(48, 24, 2, bias=False)
    )
    assert n_params(enc) == expected == 138_672
    with torch.no_grad():
        y = enc(torch.randn(1, 3, 224, 224))
    assert y.shape == (1, 24, 55, 55)
    assert all(m.bias is None for m in enc.modules() if isinstance(m, nn.Conv2d))
    assert sum(isinstance(m, GDN1) for m in enc.modules()) == 2  # sc2bench uses the simplified GDN1


# ---- CompressAI factorized prior ----------------------------------------------------------------------------------
@pytest.mark.parametrize("N,M", [(128, 192), (192, 320), (8, 12)])
def test_factorized_prior_shapes_and_parameter_counts(N, M):
    enc, dec = FactorizedPriorEncoder(N, M).eval(), FactorizedPriorDecoder(N, M).eval()
    assert n_params(enc) == conv_params(3, N, 5) + 2 * conv_params(N, N, 5) + conv_params(N, M, 5) + 3 * gdn_params(N)
    deconv = lambda a, b: a * b * 25 + b  # noqa: E731  ConvTranspose2d weight (a, b, 5, 5) + bias b
    assert n_params(dec) == deconv(M, N) + 2 * deconv(N, N) + deconv(N, 3) + 3 * gdn_params(N)
    with torch.no_grad():
        y = enc(torch.randn(1, 3, 128, 96))
        assert y.shape == (1, M, 8, 6)
        assert dec(y).shape == (1, 3, 128, 96)


def test_factorized_prior_state_dict_names_are_compressais():
    enc, dec = FactorizedPriorEncoder(8, 12), FactorizedPriorDecoder(8, 12)
    gdn_keys = [
        "beta",
        "gamma",
        "beta_reparam.pedestal",
        "beta_reparam.lower_bound.bound",
        "gamma_reparam.pedestal",
        "gamma_reparam.lower_bound.bound",
    ]
    for prefix, module in (("g_a", enc), ("g_s", dec)):
        expected = {f"{prefix}.{i}.{p}" for i in (0, 2, 4, 6) for p in ("weight", "bias")}
        expected |= {f"{prefix}.{i}.{k}" for i in (1, 3, 5) for k in gdn_keys}
        assert set(module.state_dict()) == expected


# ---- GDN against CompressAI's own layer ---------------------------------------------------------------------------
@pytest.mark.parametrize("simplified", [False, True])
@pytest.mark.parametrize("inverse", [False, True])
def test_gdn_matches_compressai(simplified, inverse):
    ref_cls = oracle.compressai_gdn_module().GDN1 if simplified else oracle.compressai_gdn_module().GDN
    ours = randomize_gdn((GDN1 if simplified else GDN)(16, inverse=inverse), seed=3)
    ref = ref_cls(16, inverse=inverse)
    assert set(ref.state_dict()) == set(ours.state_dict())
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 16, 9, 7) * 3
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-6)
    # and the fresh-init parameters and buffers are the same as CompressAI's
    fresh_ours, fresh_ref = (GDN1 if simplified else GDN)(5, inverse=inverse), ref_cls(5, inverse=inverse)
    for key, value in fresh_ref.state_dict().items():
        torch.testing.assert_close(fresh_ours.state_dict()[key], value, rtol=0, atol=0)


# ---- baking ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [lambda: FactorizedPriorEncoder(16, 24), lambda: FactorizedPriorDecoder(16, 24), lambda: EntropicStudentEncoder()],
    ids=["factorized-g_a", "factorized-g_s", "entropic-student"],
)
def test_bake_gdn_is_equivalent_and_removes_every_gdn(make):
    module = randomize_gdn(make().eval(), seed=1)
    baked = bake_gdn(copy.deepcopy(module)).eval()
    assert not any(isinstance(m, GDN) for m in baked.modules())
    assert sum(isinstance(m, BakedGDN) for m in baked.modules()) == sum(isinstance(m, GDN) for m in module.modules())
    shape = (1, 24, 8, 8) if isinstance(module, FactorizedPriorDecoder) else (1, 3, 64, 64)
    x = torch.randn(*shape)
    with torch.no_grad():
        torch.testing.assert_close(baked(x), module(x), rtol=1e-5, atol=1e-5)
    assert bake_gdn(baked) is baked  # idempotent: nothing left to replace
    assert not any(p.requires_grad for m in baked.modules() if isinstance(m, BakedGDN) for p in m.parameters())


def _aten_ops(module: nn.Module, x: torch.Tensor) -> set[str]:
    program = torch.export.export(module, (x,))
    return {node.target.__name__.split(".")[0] for node in program.graph.nodes if node.op == "call_function"}


@pytest.mark.parametrize("simplified", [False, True])
def test_baked_gdn_uses_only_export_friendly_ops(simplified):
    gdn = randomize_gdn((GDN1 if simplified else GDN)(8), seed=2).eval()
    baked = bake_gdn(gdn)
    assert isinstance(baked, BakedGDN)
    x = torch.randn(1, 8, 6, 6)
    ops = _aten_ops(baked, x)
    allowed = {"conv2d", "convolution", "mul", "sqrt", "div"} | ({"abs"} if simplified else set())
    assert ops <= allowed, ops
    assert ("abs" in ops) == simplified and ("sqrt" in ops) != simplified
    # the unbaked layer computes its weights at run time (reparameterisation ops in the graph)
    assert not _aten_ops(gdn, x) <= allowed


def test_export_module_emits_int32_symbols_of_the_baked_encoder():
    enc = randomize_gdn(FactorizedPriorEncoder(8, 12).eval())
    device = DeviceModel(enc, EntropyBottleneck(12)).eval()
    with torch.no_grad():
        device.entropy_bottleneck.quantiles[:, 0, 1] = torch.linspace(-0.5, 0.5, 12)
    wrapped = device.export_module("symbols")
    assert not any(isinstance(m, GDN) for m in wrapped.modules())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        sym = wrapped(x)
        expected = device.symbols(x)
    assert sym.dtype == torch.int32 and sym.shape == (1, 12, 4, 4)
    # baking changes float rounding slightly; symbols may differ only where y - median sits on a .5 boundary
    assert (sym - expected).abs().max() <= 1 and (sym != expected).float().mean() < 0.01


# ---- registry --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,config,latent",
    [
        ("frankensplit-fp", {}, (48, 28, 28)),
        ("frankensplit-fp", {"channels": (32, 40, 16)}, (16, 28, 28)),
        ("entropic-student", {}, (24, 55, 55)),
        ("bmshj2018-factorized", {"N": 16, "M": 24}, (24, 14, 14)),
    ],
)
def test_registry_builds_device_models(name, config, latent):
    device = registry.build_device_model(name, config)
    with torch.no_grad():
        y = device(torch.zeros(1, 3, 224, 224))
    assert tuple(y.shape[1:]) == latent
    assert device.entropy_bottleneck.channels == latent[0]
    decoder = registry.build_decoder(name, config)
    assert (decoder is not None) == (name == "bmshj2018-factorized")


def test_registry_rejects_unknown_names_and_config_keys():
    with pytest.raises(registry.ArchitectureError, match=r"unknown architecture 'resnet'.*frankensplit-fp"):
        registry.build_device_model("resnet")
    with pytest.raises(registry.ArchitectureError, match=r"does not take config key\(s\) N"):
        registry.build_device_model("frankensplit-fp", {"N": 3})
    with pytest.raises(registry.ArchitectureError, match="cannot build"):
        registry.build_device_model("frankensplit-fp", {"channels": (1, 2)})
