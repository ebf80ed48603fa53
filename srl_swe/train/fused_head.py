"""TRL's fused LM head, made to project only the labelled positions on a CPU too.

TRL 1.16 trains SFT and GRPO through a fused LM head (``trl.trainer.utils.add_fused_lm_head``): the model returns
per-token log-probabilities of the labels without materialising the logits. On Triton devices it projects only
the positions that carry a label; everywhere else it projects every position and masks afterwards (so a
compiled device such as Neuron keeps fixed tile shapes). On a CPU that is pure waste: a step example's prompt is
~700 tokens and its completion ~40, so nearly all of the projection onto the vocabulary, and its backward, is
thrown away. Projecting only the labelled positions gives the same loss and gradients (tests/test_fused_head.py) in
less than half the time per SFT step of the tiny model (``bench/fused_head.py``).

The switch TRL reads is the module-level ``_use_triton`` name in ``trl.trainer.utils``; its kernels read their
own copy, so on a CPU the projection still runs in PyTorch, in tiles. When a TRL release moves the name this does
nothing (the trainers stay correct, only slower).
"""

from __future__ import annotations

_MARK = "_srl_swe_compact_on_cpu"


def compact_on_cpu() -> bool:
    """Make TRL's fused LM head project only the labelled positions on CPU tensors (idempotent); returns
    whether the switch was found."""
    import trl.trainer.utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    def compact(device) -> bool:
        return device.type == "cpu" or original(device)

    setattr(compact, _MARK, True)
    trl_utils._use_triton = compact
    return True
