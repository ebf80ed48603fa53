"""``srl-swe train``: build TRL trainers from a validated ``TrainConfig`` and run one method.

- ``srl``: GRPOTrainer (``LeanGRPOTrainer``: no passes over rollouts without advantage) on the step examples,
  the configured step reward, and ``DynamicSampling`` as its ``rollout_func``.
- ``rlvr``: GRPOTrainer on the math questions with the ``math_answer`` outcome reward and the same
  sampler (epsilon 0 → DAPO's 0 < #correct < G).
- ``sft``: SFTTrainer on whole trajectories with ``assistant_only_loss`` (prompts and tool outputs masked).
- ``srl_then_rlvr``: ``srl`` into ``OUT/srl``, then ``rlvr`` into ``OUT/rlvr`` starting from the SRL model
  best on validation.

GRPO prompts are fitted to ``data.max_prompt_tokens`` first (default: the model's context minus
``max_completion_length``; ``srl_swe.budget``), counted in the log and in ``result.json``.

Every stage validates on held-out trajectories every ``logging.eval_steps`` steps and at the end (step reward
for GRPO, loss for SFT), checkpoints at the same cadence, keeps the best checkpoint and loads it at the end, and
saves the final (best) model to ``OUT/final`` (``logging.validation: false``: no validation, the last model).
``OUT/result.json`` records the outcome. Ctrl-C saves a checkpoint; the same command with ``--resume`` continues
from the latest one.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from srl_swe.train.callbacks import CONFIG_FILE, GracefulInterrupt, SaveConfig, WallClockLimit
from srl_swe.train.config import ConfigError, GRPOSettings, TrainConfig, dump_config
from srl_swe.train.data import DataError, fit_prompts, question_datasets, sft_datasets, sft_step_datasets, step_datasets
from srl_swe.train.fused_head import compact_on_cpu
from srl_swe.trajectory import atomic_output

_log = logging.getLogger(__name__)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class StageResult:
    """What one stage did; ``OUT/result.json`` holds it (without the log history)."""

    method: str
    output_dir: Path
    start_model: str
    final_model: Path
    best_checkpoint: str | None
    global_step: int
    interrupted: bool
    log_history: list = field(default_factory=list, repr=False)
    prompt_budget: dict | None = None  # what the prompt budget did, per split (GRPO stages)
    train_seconds: float | None = None  # the trainer's train_runtime (of this process's run, when resumed)

    def summary(self) -> dict:
        return {key: str(value) if isinstance(value, Path) else value
                for key, value in asdict(self).items() if key not in ("output_dir", "log_history")}


def check_model_path(path: str) -> None:
    """A local folder must exist; anything else must look like a Hub id (``owner/name``)."""
    if Path(path).exists():
        if not (Path(path) / "config.json").exists():
            raise ConfigError(f"model.path: {path} has no config.json; is it a model checkpoint folder?")
        return
    if not _HUB_ID.match(path) or path.startswith((".", "/")):
        raise ConfigError(f"model.path: {path} does not exist (create a small one with `srl-swe init-tiny-model`)")


def check_output_dir(out: Path) -> None:
    """``output_dir`` must be a folder, or one that can be made: ConfigError when it (or the nearest
    existing folder above it) is a file."""
    for part in (out, *out.parents):
        if part.exists():
            if not part.is_dir():
                raise ConfigError(f"output_dir: {part} is a file, not a folder")
            return


def train(config: TrainConfig, resume: bool = False, callbacks: list | None = None) -> list[StageResult]:
    """Run ``config.method``; returns one result per stage (two for srl_then_rlvr)."""
    check_model_path(config.model.path)
    check_output_dir(config.output_dir)
    check_extras(config)
    out = config.output_dir
    stages = [("srl", out / "srl"), ("rlvr", out / "rlvr")] if config.method == "srl_then_rlvr" else [
        (config.method, out)]
    results, model = [], config.model.path
    for index, (method, folder) in enumerate(stages):
        result = finished_stage(folder) if resume else None  # a resumed run never redoes a finished stage
        if result is None:
            resume_here = resume and (index == 0 or any(folder.glob("checkpoint-*")))
            result = _stage(config, method, model, folder, resume_here, callbacks)
        results.append(result)
        if result.interrupted:
            break
        model = str(result.final_model)
    return results


def _stage(config: TrainConfig, method: str, model: str, out: Path, resume: bool, callbacks) -> StageResult:
    has_checkpoints = any(out.glob(f"{PREFIX_CHECKPOINT_DIR}-*"))
    if resume and not has_checkpoints:
        raise ConfigError(f"--resume: no checkpoint in {out} to resume from")
    if has_checkpoints and not resume:
        raise ConfigError(f"output_dir: {out} holds checkpoints of an earlier run; continue it with --resume, or "
                          f"choose another output_dir")
    out.mkdir(parents=True, exist_ok=True)
    text = dump_config(config)
    if _is_main_process():
        (out / CONFIG_FILE).write_text(text)
    interrupt = GracefulInterrupt()
    budget: dict = {}
    settings = config.sft if method == "sft" else getattr(config, method)
    limit = [WallClockLimit(settings.max_wall_seconds)] if settings.max_wall_seconds else []
    trainer = _build(config, method, model, out, [interrupt, SaveConfig(text), *limit, *(callbacks or [])], budget)
    with interrupt:
        output = trainer.train(resume_from_checkpoint=True if resume else None)
    state, final = trainer.state, out / "final"
    if interrupt.stopped:  # the model to go on with is the checkpoint just saved
        final = out / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
    else:
        trainer.save_model(str(final))  # every process: ZeRO-3 / FSDP gather the weights (model + tokenizer)
    result = StageResult(method, out, model, final, state.best_model_checkpoint, state.global_step,
                         interrupt.stopped, state.log_history, budget or None,
                         round(output.metrics.get("train_runtime", 0.0), 1))
    if trainer.is_world_process_zero():
        if not interrupt.stopped:
            (final / CONFIG_FILE).write_text(text)
        _write_result(result)
    trainer.accelerator.wait_for_everyone()  # the next stage loads what the main process just wrote
    del trainer
    _free_memory()
    return result


def _free_memory() -> None:
    """Release the finished stage's model, optimizer and vLLM engine before the next stage loads its own."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _write_result(result: StageResult) -> None:
    with atomic_output(result.output_dir / "result.json") as handle:
        json.dump(result.summary(), handle, indent=2)


def finished_stage(out: Path) -> StageResult | None:
    """The result of a stage that already ran to its end in ``out`` (so a resumed pipeline skips it)."""
    try:
        summary = json.loads((out / "result.json").read_text())
        result = StageResult(output_dir=out, **{**summary, "final_model": Path(summary["final_model"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return None if result.interrupted else result


def check_extras(config: TrainConfig) -> None:
    """Optional packages the config needs, checked before any model loads."""
    import importlib.util

    needs = [(name, name, "logging.report_to") for name in config.logging.report_to if name != "none"]
    if config.vllm.enabled:
        needs.append(("vllm", "srl-swe[vllm]", "vllm.enabled"))
    if config.model.lora is not None:
        needs.append(("peft", "srl-swe[gpu]", "model.lora"))
    for module, package, setting in needs:
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"{setting}: needs the {module} package, which is not installed: pip install '{package}'")


def _build(config: TrainConfig, method: str, model: str, out: Path, callbacks: list, budget: dict | None = None):
    """The stage's trainer; ``budget`` (when given) receives what the prompt budget did (GRPO stages)."""
    from transformers import PrinterCallback
    from trl.trainer.callbacks import RichProgressCallback

    budget = {} if budget is None else budget
    compact_on_cpu()
    trainer_class, arguments = (_sft_setup(config, out) if method == "sft"
                                else _grpo_setup(config, method, model, out, budget))
    try:
        trainer = trainer_class(model=model, callbacks=[*callbacks, RichProgressCallback()],
                                peft_config=_peft(config), **arguments)
    except (OSError, ValueError, ImportError) as exc:  # a model that cannot load, settings TRL refuses
        raise ConfigError(f"cannot set up {method} training with model {model}: {exc}") from exc
    trainer.remove_callback(PrinterCallback)  # the rich panel shows the logs; no raw dicts on stdout
    return trainer


def _common_args(config: TrainConfig, settings, out: Path, per_step: int, validation) -> dict:
    """TrainingArguments shared by SFT and GRPO."""
    logging = config.logging
    validate = validation is not None
    return dict(
        output_dir=str(out), seed=config.seed, bf16=config.bf16, use_cpu=config.use_cpu,
        learning_rate=settings.learning_rate, per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=config.accumulation(settings, per_step), num_train_epochs=settings.epochs,
        max_steps=settings.max_steps, lr_scheduler_type=settings.lr_scheduler_type,
        warmup_steps=settings.warmup_ratio, max_grad_norm=settings.max_grad_norm,
        weight_decay=settings.weight_decay, gradient_checkpointing=config.model.gradient_checkpointing,
        model_init_kwargs=_model_kwargs(config), report_to=logging.report_to, logging_steps=logging.logging_steps,
        run_name=logging.run_name, disable_tqdm=True,
        eval_strategy="steps" if validate else "no", eval_steps=logging.eval_steps,
        eval_on_start=validate and logging.eval_on_start,
        save_strategy="steps", save_steps=logging.eval_steps, save_total_limit=logging.save_total_limit,
        load_best_model_at_end=validate,
    )


def _model_kwargs(config: TrainConfig) -> dict:
    kwargs: dict = {"dtype": config.model.dtype}
    if config.model.attn_implementation:
        kwargs["attn_implementation"] = config.model.attn_implementation
    return kwargs


def _peft(config: TrainConfig):
    lora = config.model.lora
    if lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=lora.target_modules, task_type="CAUSAL_LM")


def _grpo_setup(config: TrainConfig, method: str, model: str, out: Path, budget: dict):
    """GRPOTrainer and its arguments for ``srl`` or ``rlvr``; the prompts fitted to the budget (``budget``
    receives the counts)."""
    from trl import GRPOConfig

    from srl_swe.train.grpo import LeanGRPOTrainer
    from srl_swe.train.metrics import training_reward
    from srl_swe.train.sampling import DynamicSampling

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is "experimental" in TRL 1.16
    if method == "srl":
        settings: GRPOSettings = config.srl
        train_set, validation = step_datasets(config.data)
        reward = training_reward(config.srl.reward, config.srl.autojunk)
    else:
        settings = config.rlvr
        train_set, validation = question_datasets(config.data)
        reward = training_reward("math_answer")
    validation = validation if config.logging.validation else None
    train_set, validation = fit_to_budget(config, settings, model, train_set, validation, budget)
    eval_batch = settings.num_generations_eval * max(1, settings.per_device_batch_size // settings.num_generations_eval)
    args = GRPOConfig(
        **_common_args(config, settings, out, settings.batch_size * settings.num_generations, validation),
        num_generations=settings.num_generations, num_generations_eval=settings.num_generations_eval,
        per_device_eval_batch_size=eval_batch, temperature=settings.temperature, top_p=settings.top_p,
        max_completion_length=settings.max_completion_length, epsilon=settings.clip_epsilon, beta=settings.beta,
        loss_type=settings.loss_type, scale_rewards=settings.scale_rewards,
        log_completions=config.logging.log_completions,
        metric_for_best_model="reward", greater_is_better=True, **_vllm_args(config),
    )
    sampler = DynamicSampling(train_set, reward, settings.epsilon, settings.max_sampling_rounds,
                              enabled=settings.dynamic_sampling, seed=config.seed)
    return LeanGRPOTrainer, dict(reward_funcs=[sampler.trainer_reward()], args=args, train_dataset=train_set,
                             eval_dataset=validation, rollout_func=sampler)


def fit_to_budget(config: TrainConfig, settings: GRPOSettings, model: str, train_set, validation, report: dict):
    """(train, validation) with every prompt fitted to ``data.max_prompt_tokens`` (default: the model's
    context, or vLLM's ``max_model_length`` when smaller, minus ``max_completion_length``), counted per split
    in ``report`` and logged. TRL 1.16 never cuts a prompt; one beyond the context makes generation explode."""
    if config.data.max_prompt_tokens == "off":
        return train_set, validation
    from transformers import AutoTokenizer

    from srl_swe.budget import KINDS, PromptBudget

    tokenizer = AutoTokenizer.from_pretrained(model)  # the tokenizer and chat template GRPOTrainer loads
    tokens = _budget_tokens(config, settings, model, tokenizer)
    fitted = []
    for name, table in (("train", train_set), ("validation", validation)):
        budget = PromptBudget.for_tokenizer(tokenizer, tokens)
        fitted.append(fit_prompts(table, budget))
        if table is not None:
            report[name] = budget.counts.summary()
            level = logging.WARNING if any(report[name][kind] for kind in KINDS) else logging.INFO
            _log.log(level, "prompt budget of %d tokens, %s prompts: %s", tokens, name, report[name])
    if not len(fitted[0]):
        raise DataError(f"{config.data.path}: no training prompt fits the budget of {tokens} tokens")
    return fitted[0], fitted[1] if fitted[1] is None or len(fitted[1]) else None


def _budget_tokens(config: TrainConfig, settings: GRPOSettings, model: str, tokenizer) -> int:
    """``data.max_prompt_tokens``, or the model's context (vLLM's ``max_model_length`` when smaller) minus
    ``max_completion_length``; ConfigError when that leaves nothing or the context is unknown."""
    from srl_swe.budget import BudgetError, default_budget, model_context

    if isinstance(config.data.max_prompt_tokens, int):
        return config.data.max_prompt_tokens
    context = model_context(model, tokenizer)
    if config.vllm.enabled and config.vllm.max_model_length:
        context = min(context or config.vllm.max_model_length, config.vllm.max_model_length)
    try:
        tokens = default_budget(context, settings.max_completion_length)
    except BudgetError as exc:
        raise ConfigError(f"max_completion_length: {exc}; lower it or set data.max_prompt_tokens") from None
    if tokens is None:
        raise ConfigError(f"data.max_prompt_tokens: the context of {model} is unknown; set the budget in tokens")
    return tokens


def _vllm_args(config: TrainConfig) -> dict:
    vllm = config.vllm
    if not vllm.enabled:
        return {}
    args = dict(use_vllm=True, vllm_mode=vllm.mode, vllm_enable_sleep_mode=vllm.enable_sleep_mode)
    if vllm.mode == "server":
        args["vllm_server_base_url"] = vllm.server_base_url
    else:
        args.update(vllm_gpu_memory_utilization=vllm.gpu_memory_utilization,
                    vllm_tensor_parallel_size=vllm.tensor_parallel_size,
                    vllm_max_model_length=vllm.max_model_length)
    return args


def _sft_setup(config: TrainConfig, out: Path):
    """SFTTrainer and its arguments: whole trajectories with the loss on the assistant turns only, or step
    examples with the loss on the completion only (``sft.data``)."""
    from trl import SFTConfig, SFTTrainer

    settings = config.sft
    steps = settings.data == "steps"
    train_set, validation = (sft_step_datasets if steps else sft_datasets)(config.data)
    validation = validation if config.logging.validation else None
    args = SFTConfig(
        **_common_args(config, settings, out, settings.batch_size, validation),
        assistant_only_loss=not steps, completion_only_loss=True, max_length=settings.max_length,
        per_device_eval_batch_size=settings.per_device_batch_size,
        metric_for_best_model="loss", greater_is_better=False,
    )
    ids = ["trajectory_id", "instance_id"]
    return SFTTrainer, dict(args=args, train_dataset=train_set.remove_columns(ids),
                            eval_dataset=validation.remove_columns(ids) if validation else None)
