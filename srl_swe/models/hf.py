"""Local generation with transformers (``hf:PATH``): a checkpoint folder such as one ``srl-swe train``
wrote, on the GPU when there is one, else the CPU. Greedy by default (temperature 0)."""

from __future__ import annotations


class HFModel:
    def __init__(self, path: str, temperature: float = 0.0, max_new_tokens: int = 2048, device: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = f"hf:{path}"
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device).eval()
        self.temperature, self.max_new_tokens = temperature, max_new_tokens

    def complete(self, messages: list[dict[str, str]]) -> str:
        import torch

        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)["input_ids"].to(self.device)
        sampling = {"do_sample": self.temperature > 0}
        if self.temperature > 0:
            sampling["temperature"] = self.temperature
        with torch.no_grad():
            output = self.model.generate(ids, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, **sampling)
        return self.tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=True)
