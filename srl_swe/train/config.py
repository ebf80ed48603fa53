"""Training configuration: one YAML file, validated by pydantic before anything heavy is imported.

``load_config(path, overrides)`` reads the YAML, applies ``-c key=value`` overrides (dotted keys, values
parsed as YAML scalars: ``-c srl.learning_rate=1e-6 -c vllm.enabled=true``), and validates. An unknown key,
a wrong type or an impossible value (a batch that the micro-batches do not divide, a server URL missing in
vLLM server mode, a missing data folder) raises ``ConfigError`` naming the field, before any model loads.

Batch sizes follow the paper's convention: ``batch_size`` counts *prompts* per optimizer step (SRL 512,
RLVR 128, SFT 64 sequences); each GRPO prompt gets ``num_generations`` rollouts, and
``per_device_batch_size`` counts the completions (or SFT sequences) of one forward pass on one device.
Gradient accumulation is derived: ``batch_size × num_generations / (per_device_batch_size × world size)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Method = Literal["srl", "sft", "rlvr", "srl_then_rlvr"]
Scheduler = Literal["constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial",
                    "inverse_sqrt", "cosine_with_min_lr", "warmup_stable_decay"]


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LoraSettings(_Section):
    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"


class ModelSettings(_Section):
    path: str = Field(..., description="a local checkpoint folder or a Hugging Face model id")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    gradient_checkpointing: bool = False
    attn_implementation: str | None = None
    lora: LoraSettings | None = None


class PivotSettings(_Section):
    min_std: float = Field(1e-4, ge=0, description="keep the training steps whose profiled reward std exceeds this")
    weight: bool = Field(False, description="repeat each kept step in proportion to its spread (srl_swe.pivots)")


class DataSettings(_Section):
    path: Path = Field(..., description="the folder `srl-swe steps` wrote (steps.parquet, sft.parquet)")
    validation_trajectories: int = Field(30, ge=0, description="held out by trajectory (paper: 30 SWE, 60 math)")
    max_validation_examples: int | None = Field(None, gt=0)
    max_train_examples: int | None = Field(None, gt=0)
    shuffle_seed: int = 0
    pivots: PivotSettings | None = Field(
        None, description="SRL: train only on the informative steps of DIR/profile.parquet (`srl-swe profile`)")
    max_prompt_tokens: Annotated[int, Field(gt=0, strict=True)] | Literal["off"] | None = Field(
        None, description="GRPO prompt budget in tokens (srl_swe.budget): prompts are trimmed to it or dropped; "
                          "None: the model's context minus the stage's max_completion_length; 'off': no budget")

    @field_validator("max_prompt_tokens", mode="before")
    @classmethod
    def _off(cls, value):
        return "off" if value is False else value  # YAML reads a bare `off` as false


class _Optimisation(_Section):
    learning_rate: float = Field(5e-7, gt=0)
    batch_size: int = Field(..., gt=0, description="prompts (GRPO) or sequences (SFT) per optimizer step")
    per_device_batch_size: int = Field(8, gt=0, description="completions or sequences per forward pass")
    epochs: float = Field(30, gt=0)
    max_steps: int = Field(-1, description="overrides epochs when > 0")
    max_wall_seconds: float | None = Field(
        None, gt=0, description="stop after the optimizer step that passes this much training time (a model "
                                "trained as long as another: the quickstart's more-SFT row)")
    lr_scheduler_type: Scheduler = "constant"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    max_grad_norm: float = Field(1.0, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class GRPOSettings(_Optimisation):
    num_generations: int = Field(8, ge=2, description="rollouts per prompt (G)")
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_completion_length: int = Field(2048, gt=0)
    clip_epsilon: float = Field(0.2, gt=0, description="PPO clip range ε")
    beta: float = Field(0.0, ge=0, description="KL coefficient (paper: 0, no reference model)")
    # Eq. 1: mean over each rollout's tokens, then over the group — TRL's "grpo" loss.
    loss_type: Literal["grpo", "dapo", "dr_grpo", "bnpo"] = "grpo"
    scale_rewards: Literal["group", "batch", "none"] = Field(
        "group", description="advantage = (r - group mean) / the group's std (paper), the batch's std, or unscaled")
    dynamic_sampling: bool = True
    epsilon: float = Field(1e-4, ge=0, description="a group is dropped when its reward std is ≤ epsilon")
    max_sampling_rounds: int = Field(8, ge=1, description="rounds of re-sampling before a batch is topped up")
    num_generations_eval: int = Field(1, ge=1)


class SRLSettings(GRPOSettings):
    batch_size: int = Field(512, gt=0)
    reward: Literal["action_similarity", "tool_call_similarity", "action_effect"] = "action_similarity"
    autojunk: bool = False


class RLVRSettings(GRPOSettings):
    """GRPO on final answers; dynamic sampling with epsilon 0 is DAPO's 0 < #correct < G."""

    batch_size: int = Field(128, gt=0)
    epsilon: float = Field(0.0, ge=0)
    max_completion_length: int = Field(4096, gt=0)


class SFTSettings(_Optimisation):
    learning_rate: float = Field(5e-6, gt=0)
    batch_size: int = Field(64, gt=0)
    per_device_batch_size: int = Field(1, gt=0)
    epochs: float = Field(3, gt=0)
    lr_scheduler_type: Scheduler = "cosine"
    warmup_ratio: float = Field(0.3, ge=0, lt=1)
    max_length: int = Field(32768, gt=0, description="tokens per trajectory; longer ones are cut at the end")
    data: Literal["trajectories", "steps"] = Field(
        "trajectories", description="trajectories: whole expert trajectories, every expert turn a target (the "
                                    "paper's SFT); steps: the step examples, context as SRL and the agent see it "
                                    "(previous actions, no previous thoughts), the expert's thought + action as "
                                    "the completion")


class VLLMSettings(_Section):
    enabled: bool = False
    mode: Literal["colocate", "server"] = "colocate"
    server_base_url: str | None = None
    gpu_memory_utilization: float = Field(0.3, gt=0, le=1)
    tensor_parallel_size: int = Field(1, ge=1)
    max_model_length: int | None = Field(None, gt=0)
    enable_sleep_mode: bool = False


class LoggingSettings(_Section):
    report_to: list[Literal["none", "tensorboard", "wandb", "trackio"]] = ["none"]
    logging_steps: int = Field(1, gt=0)
    eval_steps: int = Field(50, gt=0, description="validate (and checkpoint) every N optimizer steps")
    eval_on_start: bool = Field(False, description="also validate the starting model, before step 1")
    validation: bool = Field(True, description="validate on the held-out tasks (every eval_steps and at the end, "
                                             "keeping the best checkpoint); false: the last step's model is final "
                                             "(for callers that score the models themselves)")
    save_total_limit: int | None = Field(3, gt=0, description="checkpoints kept; the best one is always kept")
    log_completions: bool = False
    run_name: str | None = None


class TrainConfig(_Section):
    method: Method
    model: ModelSettings
    data: DataSettings
    output_dir: Path
    seed: int = 42
    bf16: bool = False
    use_cpu: bool = False
    srl: SRLSettings = Field(default_factory=SRLSettings)
    rlvr: RLVRSettings = Field(default_factory=RLVRSettings)
    sft: SFTSettings = Field(default_factory=SFTSettings)
    vllm: VLLMSettings = Field(default_factory=VLLMSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        world = world_size()
        for name in {"srl": ["srl"], "rlvr": ["rlvr"], "srl_then_rlvr": ["srl", "rlvr"]}.get(self.method, []):
            grpo: GRPOSettings = getattr(self, name)
            completions = grpo.batch_size * grpo.num_generations
            if completions % (grpo.per_device_batch_size * world):
                raise ValueError(f"{name}.per_device_batch_size: {grpo.per_device_batch_size} × {world} device(s) "
                                 f"must divide {name}.batch_size × num_generations = {completions}")
            if grpo.batch_size % world:
                raise ValueError(f"{name}.batch_size: {grpo.batch_size} prompts do not split into whole groups "
                                 f"over {world} devices")
        if self.method == "sft" and self.sft.batch_size % (self.sft.per_device_batch_size * world):
            raise ValueError(f"sft.per_device_batch_size: {self.sft.per_device_batch_size} × {world} device(s) "
                             f"must divide sft.batch_size = {self.sft.batch_size}")
        if self.vllm.enabled and self.vllm.mode == "server" and not self.vllm.server_base_url:
            raise ValueError("vllm.server_base_url: required when vllm.mode is 'server'")
        if self.bf16 and self.use_cpu:
            raise ValueError("bf16: not supported together with use_cpu")
        if self.vllm.enabled and self.use_cpu:
            raise ValueError("vllm.enabled: vLLM generation needs a GPU; not with use_cpu")
        if self.model.lora is not None and self.method == "srl_then_rlvr":
            raise ValueError("model.lora: the SRL stage would hand RLVR an adapter, not a model; run method srl, "
                             "merge the adapter, then method rlvr")
        return self

    def accumulation(self, settings: _Optimisation, per_step: int) -> int:
        """Gradient-accumulation steps that make ``per_step`` items from micro-batches."""
        return per_step // (settings.per_device_batch_size * world_size())


def world_size() -> int:
    """Processes of this launch (``accelerate launch`` / torchrun set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def parse_override(text: str) -> tuple[list[str], object]:
    """``"srl.learning_rate=1e-6"`` → (["srl", "learning_rate"], 1e-06)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. srl.learning_rate=1e-6")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: the value is not valid YAML ({_yaml_problem(exc)})") from None
    return key.strip().split("."), parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """``raw`` with every ``key=value`` set (nested sections created as needed)."""
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part} is not a section")
            node = child
        node[path[-1]] = value
    return raw


def load_config(path: Path, overrides: list[str] = ()) -> TrainConfig:
    """Read, override and validate (see the module docstring)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a YAML text file (byte {exc.start} is not UTF-8)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}{_yaml_place(exc)}: not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    return validate(apply_overrides(raw, list(overrides)), str(path))


def _yaml_place(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's reason in one line (its message spans several, with a copy of the line)."""
    problem = getattr(exc, "problem", None) or str(exc)
    return " ".join(str(problem).split())


def validate(raw: dict, origin: str = "config") -> TrainConfig:
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc']) or 'config'}: {_message(error)}"
                             for error in exc.errors())
        raise ConfigError(f"{origin}: {problems}") from None


def _message(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return error["msg"].removeprefix("Value error, ")


def dump_config(config: TrainConfig) -> str:
    """The resolved configuration as YAML (every default spelled out)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
