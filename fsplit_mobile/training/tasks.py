"""What each split model trains on: a task gives batches (features at the split and the teacher's logits), the
split model's reconstruction of those features, and its validation numbers; the loop (training/loop.py) is the same
for all. Tasks raise :class:`TrainingInputError` for bad inputs (caches, configurations); the CLI
(training/train.py) turns that into a usage error.

- :class:`UnitTask`: a bottleneck unit on cached teacher features (training/features.py);
- :class:`FrankenSplitTask`: the FrankenSplit encoder on images, crops drawn on the fly;
- :class:`LightTask`: the lightweight encoder of issue 20 on image caches (features.py --images);
- :class:`StemTask`: a trained light model's teacher layers replaced by a learned stem distilled from them.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import torch
from torch import nn

INPUT_PIXELS = 224 * 224


class TrainingInputError(ValueError):
    """A cache or a configuration a task cannot train on (the message names the file or field)."""


class UnitTask:
    """Bottleneck unit on cached features (train and validation caches from training/features.py)."""

    def __init__(
        self, split_block: int, unit_cfg: dict, train_cache: str, val_cache: str, device, feature_noise: float = 0.0
    ):
        from ..models import bottleneck_unit as bu
        from ..models.teacher import TeacherTail, load_efficientnet_lite0

        self.split_block = split_block
        self.unit = bu.build_unit(split_block, unit_cfg)
        self.modules = self.unit.modules()
        self.tail = TeacherTail(load_efficientnet_lite0(), split_block).eval().to(device)
        for p in self.tail.parameters():
            p.requires_grad_(False)
        train = torch.load(train_cache, weights_only=True)
        val = torch.load(val_cache, weights_only=True)
        for name, cache in (("train", train), ("validation", val)):
            if split_block not in cache["features"]:
                raise TrainingInputError(
                    f"{name} cache has no features after block {split_block} (has {sorted(cache['features'])})"
                )
        self.train_f, self.train_logits = train["features"][split_block], train["logits"]
        self.val_f, self.val_logits = val["features"][split_block], val["logits"]
        self.device = device
        self.bottleneck = self.unit.entropy_bottleneck
        # Feature noise (training only): the unit sees f + noise * per-channel std * N(0, 1) and must still
        # reproduce the clean f and the teacher's logits; this is what an int8 head's error looks like to it.
        self.feature_noise = float(feature_noise)
        pick = torch.randperm(self.train_f.shape[0], generator=torch.Generator().manual_seed(0))[:512]
        self.channel_std = self.train_f[pick].float().std(dim=(0, 2, 3)).reshape(1, -1, 1, 1).to(device)
        for m in self.modules.values():
            m.to(device)

    @torch.no_grad()
    def pca_init(self, step: float, max_crops: int = 2000) -> dict:
        """Start a linear per-pixel unit (kernel 1, act none) at the principal components of the training
        features: encoder = projection onto the top-L components divided by one quantisation step for all of
        them (`step` x the features' RMS standard deviation per channel: equal steps are what minimises the
        squared error at a given rate), decoder = the transpose times the step, plus the mean. With L = all the
        channels this is transform coding of the features (a rotation, then a uniform quantiser whose step sets the
        rate): no subspace is dropped, which is what generalises from ~100 training photos to unseen classes.
        Training then moves the transform from what reconstructs the features best to what the frozen tail
        needs. The principal components come from `max_crops` crops drawn at random (seeded) from the cache."""
        cfg = self.unit.config
        if cfg["kernel"] != 1 or cfg["act"] != "none":
            raise TrainingInputError("--init pca needs a linear per-pixel unit (--kernel 1 --act none)")
        pick = torch.randperm(self.train_f.shape[0], generator=torch.Generator().manual_seed(0))[:max_crops]
        f = self.train_f[pick].float()
        x = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1])
        mean = x.mean(0)
        cov = (x - mean).T @ (x - mean) / x.shape[0]
        evals, evecs = torch.linalg.eigh(cov.double())
        order = torch.argsort(evals, descending=True)
        k = cfg["latent_channels"]
        p = evecs[:, order[:k]].float()
        delta = float(step * (evals.clamp_min(0).sum() / evals.numel()).sqrt())
        enc, dec = self.unit.encoder.layers[0], self.unit.decoder.layers[0]
        assert isinstance(enc, nn.Conv2d) and isinstance(dec, nn.Conv2d)  # kernel 1, no activation: one conv each
        assert enc.bias is not None and dec.bias is not None
        enc.weight.copy_((p.T / delta).reshape(k, -1, 1, 1))
        enc.bias.copy_(-(mean @ p) / delta)
        dec.weight.copy_((p * delta).reshape(-1, k, 1, 1))
        dec.bias.copy_(mean)
        explained = float(evals[order[:k]].sum() / evals.sum())
        return {"step": delta, "explained_variance": explained, "pixels": x.shape[0]}

    def batch(self, rng: np.random.Generator, n: int):
        idx = torch.from_numpy(rng.integers(0, self.train_f.shape[0], n))
        # flips, crops and colour jitter were drawn when the cache was built
        return self.train_f[idx].float().to(self.device), self.train_logits[idx].to(self.device)

    def forward(self, f):
        if self.feature_noise and torch.is_grad_enabled():
            f = f + self.feature_noise * self.channel_std * torch.randn_like(f)
        y = self.unit.encoder(f)
        y_tilde, likelihoods = self.bottleneck(y)
        return self.unit.decoder(y_tilde), likelihoods

    @torch.no_grad()
    def validate(self) -> dict:
        """Hard-rounded symbols as deployed: agreement with the teacher and ideal bytes under the float model."""
        agree = bits = 0.0
        n = self.val_f.shape[0]
        for i in range(0, n, 64):
            f = self.val_f[i : i + 64].float().to(self.device)
            y = self.unit.encoder(f)
            sym = self.bottleneck.symbols(y)
            _, likelihoods = self.bottleneck(y, training=False)
            logits = self.tail(self.unit.decoder(self.bottleneck.dequantize(sym)))
            agree += float((logits.argmax(1).cpu() == self.val_logits[i : i + 64].argmax(1)).sum())
            bits += float(-torch.log2(likelihoods).sum())
        return {"val_agreement": agree / n, "val_bytes_estimated": bits / 8 / n, "val_crops": n}


class FrankenSplitTask:
    """FrankenSplit encoder + FeatureSynthesis decoder on images (split after block 5), crops drawn on the fly.

    Crops come from the bundled training photos, or with `sources` (names of evaluation/images.py's SOURCES) from
    those package-shipped pictures as the bundled frankensplit_lite0.pt was trained (training_sampler: long side at
    most 512, photographs drawn PHOTO_WEIGHT times more often). `val_paths`: the validation images (default: the
    bundled validation split)."""

    def __init__(self, crop: int, device, sources=None, val_paths=None):
        from ..evaluation.images import CropSampler, bundled_images, open_rgb, training_sampler
        from ..models.frankensplit_lite0 import DEFAULT_CONFIG, build_trainable
        from ..models.teacher import load_teacher

        self.config = dict(DEFAULT_CONFIG)
        encoder, self.bottleneck, decoder = build_trainable(self.config)
        self.encoder, self.decoder = encoder, decoder
        self.modules: dict[str, nn.Module] = {
            "encoder": encoder,
            "entropy_bottleneck": self.bottleneck,
            "decoder": decoder,
        }
        _, self.head, self.tail = load_teacher()
        self.head.to(device), self.tail.to(device)
        if sources is None:
            self.sampler = CropSampler([open_rgb(p) for p in bundled_images("train")], crop)
        else:
            self.sampler = training_sampler(crop, tuple(sources))
        self.val_paths = bundled_images("val") if val_paths is None else list(val_paths)
        self.device = device
        for m in self.modules.values():
            m.to(device)

    def batch(self, rng: np.random.Generator, n: int):
        from ..evaluation.images import normalize

        x = normalize(self.sampler.batch(rng, n)).to(self.device)
        with torch.no_grad():
            f = self.head(x)
            logits = self.tail(f)
        self._x = x
        return f, logits

    def forward(self, f):
        y = self.modules["encoder"](self._x)
        y_tilde, likelihoods = self.bottleneck(y)
        return self.modules["decoder"](y_tilde), likelihoods

    @torch.no_grad()
    def validate(self) -> dict:
        """Hard-rounded symbols as deployed (evaluate_split, 8 crops per validation image). Its ideal code length
        needs CDF tables, which the training state keeps none of: they are built on a copy of the entropy model.
        Leaves the modules in eval mode (the loop puts them back in train mode)."""
        from ..evaluation.evaluate import evaluate_split

        bottleneck = copy.deepcopy(self.bottleneck)
        bottleneck.update(force=True)
        m = evaluate_split(
            self.modules["encoder"],
            bottleneck,
            self.modules["decoder"],
            self.head,
            self.tail,
            images=self.val_paths,
            crops_per_image=8,
            use_coder=False,
        )
        return {
            "val_agreement": m["top1_agreement"],
            "val_bytes_estimated": m["bpp_estimated"] * INPUT_PIXELS / 8,
            "val_crops": m["crops"],
        }


class LightTask:
    """A lightweight image encoder + FeatureSynthesis decoder, distilled onto the teacher's features after block 5
    (issue 20). Reads image caches (training/features.py --images): the teacher's features and logits for every
    cached crop were computed once, so feature distillation (kd_weight 0) runs no teacher at all and distillation
    through the frozen tail runs the tail on the reconstruction only."""

    def __init__(
        self, config: dict, train_cache: str | list[str], val_cache: str, device, init_from: str | None = None
    ):
        from ..models.frankensplit_lite0 import build_trainable, load_trainable
        from ..models.teacher import TeacherTail, load_efficientnet_lite0

        if init_from:
            encoder, self.bottleneck, decoder, payload = load_trainable(init_from)
            self.config = payload["config"]
        else:
            self.config = config
            encoder, self.bottleneck, decoder = build_trainable(config)
        self.encoder, self.decoder = encoder, decoder
        self.modules: dict[str, nn.Module] = {
            "encoder": encoder,
            "entropy_bottleneck": self.bottleneck,
            "decoder": decoder,
        }
        split = int(self.config["split_block"])
        self.tail = TeacherTail(load_efficientnet_lite0(), split).eval().to(device)
        for p in self.tail.parameters():
            p.requires_grad_(False)
        train_paths = [train_cache] if isinstance(train_cache, str) else list(train_cache)
        loaded = []
        for name, path in [("train", p) for p in train_paths] + [("validation", val_cache)]:
            cache = torch.load(path, weights_only=True)
            if "images" not in cache:
                raise TrainingInputError(f"{name} cache {path} holds no images (build it with --images)")
            if split not in cache["features"]:
                raise TrainingInputError(f"{name} cache {path} has no features after block {split}")
            loaded.append(cache)
        *train, val = loaded
        # several training caches (the photo set, the extra pool) are one training set
        self.train_x = torch.cat([c["images"] for c in train])
        self.train_f = torch.cat([c["features"][split] for c in train])
        self.train_logits = torch.cat([c["logits"] for c in train])
        self.val_x, self.val_logits, self.val_f = val["images"], val["logits"], val["features"][split]
        mean = torch.tensor(self.config["mean"]).reshape(1, 3, 1, 1)
        std = torch.tensor(self.config["std"]).reshape(1, 3, 1, 1)
        self._norm = (mean.to(device), std.to(device))
        self.device = device
        self._x: torch.Tensor | None = None
        for m in self.modules.values():
            m.to(device)

    @torch.no_grad()
    def rescale(self, factor: float) -> None:
        """Quantisation step x factor for the same transform: y' = y / factor on the device (the last layer's
        weights and bias divided), y'' * factor on the server (the first layer's weights multiplied); with
        factor 1 nothing changes. The entropy model's quantiles are divided too (they are quantiles of y, so those of
        y' are exactly the old ones / factor): its medians, which set the rounding offsets, are right from the first
        step instead of lagging behind the aux loss (validation-based selection then measures the deployed
        rounding). The density itself must then be retrained (--freeze-transform trains only it)."""
        last = self.encoder.layers[-1]
        first = self.decoder.stem[0]
        assert isinstance(last, nn.Conv2d) and isinstance(first, nn.Conv2d)  # LightEncoder's 1x1 head, the stem's conv
        last.weight.div_(factor)
        assert last.bias is not None
        last.bias.div_(factor)
        first.weight.mul_(factor)
        self.bottleneck.quantiles.div_(factor)

    def to_cpu(self) -> None:
        self._norm = (self._norm[0].cpu(), self._norm[1].cpu())

    def _images(self, pixels: torch.Tensor) -> torch.Tensor:
        mean, std = self._norm
        return (pixels.to(self.device).float() / 255 - mean) / std

    def batch(self, rng: np.random.Generator, n: int):
        idx = torch.from_numpy(rng.integers(0, self.train_x.shape[0], n))
        self._x = self._images(self.train_x[idx])
        return self.train_f[idx].float().to(self.device), self.train_logits[idx].to(self.device)

    def forward(self, f):
        y = self.modules["encoder"](self._x)
        y_tilde, likelihoods = self.bottleneck(y)
        return self.modules["decoder"](y_tilde), likelihoods

    @torch.no_grad()
    def validate(self) -> dict:
        """Hard-rounded symbols as deployed: agreement with the teacher and ideal bytes under the float model."""
        agree = bits = err = power = 0.0
        n = self.val_x.shape[0]
        for i in range(0, n, 32):
            y = self.modules["encoder"](self._images(self.val_x[i : i + 32]))
            sym = self.bottleneck.symbols(y)
            _, likelihoods = self.bottleneck(y, training=False)
            f_hat = self.modules["decoder"](self.bottleneck.dequantize(sym))
            f = self.val_f[i : i + 32].float().to(f_hat.device)
            err += float(((f_hat - f) ** 2).sum())
            power += float((f**2).sum())
            logits = self.tail(f_hat)
            agree += float((logits.argmax(1).cpu() == self.val_logits[i : i + 32].argmax(1)).sum())
            bits += float(-torch.log2(likelihoods).sum())
        return {
            "val_agreement": agree / n,
            "val_bytes_estimated": bits / 8 / n,
            "val_crops": n,
            "val_nmse": err / max(power, 1e-12),
        }


def freeze_transform(task) -> None:
    """Keep the task's encoder and decoder as they are: only the entropy model trains."""
    for part in ("encoder", "decoder"):
        for p in task.modules[part].parameters():
            p.requires_grad_(False)


class StemTask(LightTask):
    """A trained light model whose device encoder starts with the teacher's layers (``teacher_blocks``, a patch stem
    and no 1/4 stage), with those first layers replaced by a learned stem distilled from them (issue 20: the
    teacher's stem and block 0 work at 112x112, memory-bound layers that cost a third of the network's int8 time for
    a twentieth of its MACs).

    The new front is a 4x4 stride-4 patch convolution to ``stem_channels``, then one depthwise-separable block back to
    the reference's width at 1/4 resolution (its 3x3 depthwise convolution widens the receptive field to the 12
    pixels the reference's front sees). Everything after the front (the 1/8 stage, the latent layer, the entropy
    model, the decoder) is the reference's, copied and frozen: the loop trains the front alone to reproduce the
    reference front's output (NMSE, the reference run once per batch), so validation measures the swapped model's
    agreement from the first step. Fine-tune the result through the tail afterwards (``train light --init-from``)."""

    FRONT = 3  # the new encoder's layers before the reference's 1/8 stage: patch conv, act, separable block

    def __init__(self, reference: str, stem_channels: int, train_cache, val_cache: str, device):
        from ..models.frankensplit_lite0 import load_trainable
        from ..models.light_encoder import LightEncoder

        ref_encoder, ref_bottleneck, ref_decoder, payload = load_trainable(reference)
        rc = payload["config"]["encoder"]
        if (
            rc.get("kind") != "light"
            or not int(rc.get("teacher_blocks", 0))
            or rc["stages"][0]
            or rc["stem"] != "patch"
        ):
            raise TrainingInputError(
                f"{reference}: the stem swap needs a light encoder that starts with the teacher's layers "
                f"(teacher_blocks > 0, patch stem, no 1/4 stage), got {json.dumps(rc, sort_keys=True)}"
            )
        if stem_channels < 1:
            raise TrainingInputError(f"stem_channels must be >= 1, got {stem_channels}")
        second = rc["block"] if isinstance(rc["block"], str) else rc["block"][1]
        encoder_config = {
            **rc,
            "teacher_blocks": 0,
            "stem_channels": stem_channels,
            "stages": [[int(rc["stem_channels"])], rc["stages"][1]],
            "block": ["separable", second],
        }
        super().__init__({**payload["config"], "encoder": encoder_config}, train_cache, val_cache, device)
        assert isinstance(ref_encoder, LightEncoder) and isinstance(self.encoder, LightEncoder)
        assert ref_encoder.teacher is not None
        ref_layers = list(ref_encoder.layers)
        # the reference's front: the teacher's layers + its patch stem and activation (layers 0, 1)
        self.reference_front = nn.Sequential(ref_encoder.teacher, *ref_layers[:2]).eval().to(device)
        for mine, theirs in zip(list(self.encoder.layers)[self.FRONT :], ref_layers[2:], strict=True):
            mine.load_state_dict(theirs.state_dict())
        self.bottleneck.load_state_dict(ref_bottleneck.state_dict())
        self.decoder.load_state_dict(ref_decoder.state_dict())
        # the entropy model gets no gradient (no rate term); its quantiles keep their auxiliary loss, already solved
        for p in [*self.reference_front.parameters(), *self.decoder.parameters()]:
            p.requires_grad_(False)
        for p in self.encoder.layers[self.FRONT :].parameters():
            p.requires_grad_(False)
        self.front = self.encoder.layers[: self.FRONT]

    def batch(self, rng: np.random.Generator, n: int):
        _, logits = super().batch(rng, n)
        with torch.no_grad():
            target = self.reference_front(self._x)
        return target, logits

    def forward(self, f):
        # no latent is coded while the front learns: likelihoods of one give a rate term of zero
        return self.front(self._x), torch.ones(1, device=f.device)
