"""TRL's fused LM head on a CPU: projecting only the labelled positions changes nothing but the time."""

from __future__ import annotations

import pytest
import torch
import trl.trainer.utils as trl_utils

from srl_swe.train.fused_head import compact_on_cpu
from srl_swe.train.tiny_model import build_model


def loss_and_gradients(model, input_ids, labels):
    model.zero_grad()
    output = model(input_ids=input_ids, labels=labels, fused_lm_head=True)
    output.loss.backward()
    return output, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.fixture
def restore_switch():
    """TRL's own switch during the test (an earlier test's trainer may have compacted already), and
    whatever was there put back afterwards."""
    from trl.kernels.chunked_logprob import _use_triton

    before = trl_utils._use_triton
    trl_utils._use_triton = _use_triton
    yield
    trl_utils._use_triton = before


def test_compact_projection_gives_the_full_projections_loss_and_gradients(tiny_tokenizer, restore_switch):
    model = build_model(tiny_tokenizer, hidden_size=32, layers=2, seed=3)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(0, len(tiny_tokenizer), (3, 60), generator=generator)
    labels = input_ids.clone()
    labels[:, :45] = -100  # a prompt, then a completion: the SFT step example's shape
    labels[2, 50:] = -100  # and a shorter completion
    assert not trl_utils._use_triton(torch.device("cpu"))
    full, full_grads = loss_and_gradients(model, input_ids, labels)

    assert compact_on_cpu()
    switch = trl_utils._use_triton
    assert compact_on_cpu() and trl_utils._use_triton is switch  # idempotent: not wrapped twice
    assert trl_utils._use_triton(torch.device("cpu"))
    assert not trl_utils._use_triton(torch.device("meta"))  # other devices keep TRL's answer
    compact, compact_grads = loss_and_gradients(model, input_ids, labels)

    torch.testing.assert_close(compact.loss, full.loss)
    torch.testing.assert_close(compact.log_probs, full.log_probs)
    torch.testing.assert_close(compact.entropy, full.entropy)
    assert torch.equal(compact.is_top1, full.is_top1)
    assert compact_grads.keys() == full_grads.keys() and len(full_grads) > 0
    for name, gradient in full_grads.items():
        torch.testing.assert_close(compact_grads[name], gradient, rtol=1e-4, atol=1e-6, msg=name)
    # the model's own loss (every logit materialised) agrees as well
    native = model(input_ids=input_ids, labels=labels).loss
    torch.testing.assert_close(compact.loss, native, rtol=1e-4, atol=1e-5)


def test_without_the_switch_nothing_is_changed(restore_switch):
    del trl_utils._use_triton  # a TRL release that moved it; the fixture puts it back
    assert compact_on_cpu() is False
    assert not hasattr(trl_utils, "_use_triton")
