"""What one export run shares: :class:`ExportContext` (the loaded model and the run's settings). Its own module, so
that the run (:mod:`.api`) and its shared preparation (:mod:`.prepare`) both import it and neither imports the
other's caller."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .errors import CheckpointError, ExportError, RecipeError
from .recipe import Recipe

EVAL_BATCH = 16  # held-out samples per eager call (reference, teacher, server part)


class ExportContext:
    """The loaded model and the run's settings (input size, normalisation, output kind) all artifacts share."""

    def __init__(self, recipe: Recipe, *, input_size=None, output=None, normalization_in_graph=None, calib=None):
        self.recipe = recipe
        self.split = self._load_model(recipe)
        self.model_id = recipe.model_id or self.split.model_id
        if input_size is not None:
            recipe.input_size = (int(input_size[0]), int(input_size[1]))
        self.input_size = tuple(recipe.input_size or self.split.input_size)
        if min(self.input_size) < 16 or any(s % 8 for s in self.input_size):
            raise ExportError(f"input size {list(self.input_size)} must have sides that are multiples of 8, >= 16")
        self.split.input_size = self.input_size
        self.mean = tuple(recipe.mean or self.split.mean)
        self.std = tuple(recipe.std or self.split.std)
        self.output = output or recipe.output
        self.normalization_in_graph = (
            recipe.normalization_in_graph if normalization_in_graph is None else bool(normalization_in_graph)
        )
        self.calib_dir = Path(calib) if calib else recipe.calib_images

        device = self.split.device.eval()
        eb = device.entropy_bottleneck
        if not eb.has_tables():
            raise CheckpointError(f"model {self.model_id}: entropy bottleneck has no CDF tables (call update())")
        self.medians = eb.medians().detach().float().numpy()
        trivial = all(m == 0 for m in self.mean) and all(s == 1 for s in self.std)
        fold = (self.mean, self.std) if self.normalization_in_graph and not trivial else None
        self.module = device.export_module(self.output, fold).eval()
        self.example = torch.zeros(1, 3, *self.input_size)
        with torch.no_grad():
            c, h, w = (int(s) for s in self.module.encoder(self.example).shape[1:])
        self.latent_shape = (c, h, w)
        self.canonical_spec = {
            "shape": [1, 3, *self.input_size],
            "layout": "NCHW",
            "color": "RGB",
            "value_range": [0.0, 1.0],
            "mean": list(self.mean),
            "std": list(self.std),
            "normalization_in_graph": self.normalization_in_graph,
            "quantization": None,
        }

    # -- model --
    @staticmethod
    def _load_model(recipe: Recipe):
        from ..models.checkpoint import load_checkpoint

        if recipe.checkpoint is None:
            where = recipe.path or "the recipe"
            raise RecipeError(f"{where}: field model.checkpoint is not set; pass --checkpoint PATH")
        try:
            split = load_checkpoint(recipe.checkpoint)
        except CheckpointError:  # a bad file: the reader's own error, as it is
            raise
        except (OSError, ValueError, RuntimeError) as e:  # anything else that stops loading (e.g. the teacher)
            raise CheckpointError(f"{recipe.checkpoint}: cannot load checkpoint ({str(e).splitlines()[0]})") from e
        if recipe.architecture and split.architecture != recipe.architecture:
            raise RecipeError(
                f"{recipe.path}: field model.architecture is {recipe.architecture!r} but checkpoint "
                f"{recipe.checkpoint} holds {split.architecture!r}"
            )
        return split

    def device_canonical(self, x: torch.Tensor, unrounded: list | None = None) -> torch.Tensor:
        """Eager fp32 reference of the device graph on a canonical input (un-baked GDN, plain normalisation).
        `unrounded`, when given, receives each sample's y - median before rounding (for the rounding-tie count)."""
        if self.normalization_in_graph:
            mean = torch.tensor(self.mean).reshape(1, 3, 1, 1)
            std = torch.tensor(self.std).reshape(1, 3, 1, 1)
            x = (x - mean) / std
        with torch.no_grad():
            y = self.split.device(x)
            eb = self.split.device.entropy_bottleneck
            if unrounded is not None:
                unrounded.extend((y - eb.medians().reshape(1, -1, 1, 1)).numpy())
            if self.output == "latent":
                return y
            return eb.symbols(y)

    def server_top1(self, symbols: list[np.ndarray]) -> list[int]:
        """Top-1 class of the server part for each (C, H, W) int32 symbol array."""
        out: list[int] = []
        with torch.no_grad():
            for start in range(0, len(symbols), EVAL_BATCH):
                batch = torch.from_numpy(np.stack(symbols[start : start + EVAL_BATCH]))
                out.extend(int(i) for i in self.split.server(batch).argmax(1))
        return out
