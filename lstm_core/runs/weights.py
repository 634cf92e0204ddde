"""Weights as safetensors bytes (never pickle), and their checks on the way back in: names, shapes, dtype, finite."""

from __future__ import annotations

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from lstm_core.errors import LabError

State = dict[str, torch.Tensor]


def to_bytes(state: State) -> bytes:
    return save_safetensors({k: v.detach().contiguous().cpu() for k, v in state.items()})


def from_bytes(blob: bytes, name: str, expected: State) -> State:
    """Tensors that exactly fit ``expected`` (names, shapes, float32) and are finite; LabError naming ``name``."""
    try:
        tensors = load_safetensors(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise LabError("err_bundle_weights", name=name) from exc
    if set(tensors) != set(expected):
        raise LabError("err_bundle_shapes")
    for key, tensor in tensors.items():
        if tensor.shape != expected[key].shape:
            raise LabError("err_bundle_shapes")
        if tensor.dtype != torch.float32:
            raise LabError("err_bundle_weights", name=name)
        if not torch.isfinite(tensor).all():
            raise LabError("err_bundle_nonfinite", name=name)
    return tensors
