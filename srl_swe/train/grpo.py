"""TRL's GRPOTrainer without the forward and backward passes of rollouts whose advantage is 0.

GRPO's policy loss of a rollout is its advantage times a ratio, so a rollout with advantage 0 — every rollout
of a group dynamic sampling topped up (``srl_swe.train.sampling``), or one scoring exactly its group's mean —
adds nothing to the gradient, yet TRL 1.16 runs the model forward and backward on it like on any other. In the
quickstart most groups are topped up (the warm start reproduces its training steps), so most of SRL's training
compute was spent on zeros. ``LeanGRPOTrainer`` drops those rows from each micro-batch before TRL's loss and
rescales TRL's per-row mean to the full micro-batch, so the loss, and its gradient, are TRL's up to float
rounding (``tests/test_train.py``). The kept rows keep their padding, so their positions are unchanged. A
micro-batch with no advantage left contributes a zero gradient to every weight without running the model, as
TRL's pass would have.

It applies in one process (TRL's loss gathers per-row metrics across processes, which must then hold as many
rows each, and data-parallel wrappers need every process's pass), where the zero rows provably add nothing: no
KL term (``beta`` 0), no entropy bonus or entropy mask, no router loss, loss types ``grpo``, ``dr_grpo``
(per-row normalisers, rescaled) or ``dapo`` (normalised by the whole generation batch's tokens, unchanged);
elsewhere it is TRL's trainer. Logged per-micro-batch metrics (entropy, clip ratios) cover the kept rows only.
"""

from __future__ import annotations

from trl import GRPOTrainer

ROW_MEAN_LOSSES = ("grpo", "dr_grpo")
"""Loss types TRL divides by the micro-batch's row count: the kept rows' loss is rescaled by kept / rows."""
SKIPPING_LOSSES = (*ROW_MEAN_LOSSES, "dapo")


class LeanGRPOTrainer(GRPOTrainer):
    """GRPOTrainer skipping rollouts with advantage 0 (see the module docstring)."""

    def _compute_loss(self, model, inputs):
        advantages = inputs["advantages"]
        if advantages.dim() != 1 or not self._skips_flat_rows():  # checked first: no device sync where it cannot skip
            return super()._compute_loss(model, inputs)
        keep = advantages != 0
        kept = int(keep.sum())
        if kept == len(keep):
            return super()._compute_loss(model, inputs)
        if kept == 0:
            return sum((weight * 0).sum() for weight in model.parameters() if weight.requires_grad)
        loss = super()._compute_loss(model, _rows(inputs, keep))
        return loss * (kept / len(keep)) if self.loss_type in ROW_MEAN_LOSSES else loss

    def _skips_flat_rows(self) -> bool:
        return (self.model.training and self.accelerator.num_processes == 1 and self.beta == 0.0
                and self.loss_type in SKIPPING_LOSSES and not self._entropy_bonus_enabled
                and self.top_entropy_quantile >= 1.0 and not self.aux_loss_enabled)


def _rows(inputs: dict, keep) -> dict:
    """``inputs`` with only the rows in ``keep`` of every per-row tensor; other values as they are."""
    rows = len(keep)
    return {key: value[keep] if hasattr(value, "dim") and value.dim() > 0 and len(value) == rows else value
            for key, value in inputs.items()}
