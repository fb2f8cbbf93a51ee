"""ModelsClient: the language models the API key can use (`xai_api.Models`), as ModelInfo values.

Prices are converted from the wire's units to USD per million tokens:
`prompt_text_token_price` and `completion_text_token_price` are 1/100 cent per 1 M tokens and
`cached_prompt_token_price` is cents per 100 M tokens, so each is value / 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import empty_pb2

from xai_files_cli._pb import models_pb2, models_pb2_grpc
from xai_files_cli.core import rpc
from xai_files_cli.core.channel import target_of
from xai_files_cli.core.records import Moment, enum_label, rfc3339, timestamp_field

DEFAULT_TIMEOUT = 60.0
_PRICE_DIVISOR = 10_000  # wire price units -> USD per million tokens


@dataclass(frozen=True)
class ModelInfo:
    """One language model."""

    name: str
    aliases: tuple[str, ...]
    version: str
    input_modalities: tuple[str | int, ...]  # an int: a modality newer than our protos
    output_modalities: tuple[str | int, ...]
    prompt_usd_per_million: float
    cached_prompt_usd_per_million: float
    completion_usd_per_million: float
    max_prompt_length: int
    created: Moment | None
    system_fingerprint: str

    @classmethod
    def from_pb(cls, model: models_pb2.LanguageModel) -> ModelInfo:
        return cls(
            name=model.name,
            aliases=tuple(model.aliases),
            version=model.version,
            input_modalities=tuple(enum_label(models_pb2.Modality, m) for m in model.input_modalities),
            output_modalities=tuple(enum_label(models_pb2.Modality, m) for m in model.output_modalities),
            prompt_usd_per_million=model.prompt_text_token_price / _PRICE_DIVISOR,
            cached_prompt_usd_per_million=model.cached_prompt_token_price / _PRICE_DIVISOR,
            completion_usd_per_million=model.completion_text_token_price / _PRICE_DIVISOR,
            max_prompt_length=model.max_prompt_length,
            created=timestamp_field(model, "created"),
            system_fingerprint=model.system_fingerprint,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "version": self.version,
            "input_modalities": list(self.input_modalities),
            "output_modalities": list(self.output_modalities),
            "prompt_usd_per_million": self.prompt_usd_per_million,
            "cached_prompt_usd_per_million": self.cached_prompt_usd_per_million,
            "completion_usd_per_million": self.completion_usd_per_million,
            "max_prompt_length": self.max_prompt_length,
            "created": rfc3339(self.created),
            "system_fingerprint": self.system_fingerprint,
        }


class ModelsClient:
    """Blocking client for `xai_api.Models`; every call has a deadline."""

    def __init__(self, channel: grpc.Channel, *, timeout: float | None = None) -> None:
        self._stub = models_pb2_grpc.ModelsStub(channel)
        self._timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self._target = target_of(channel)

    def list(self) -> list[ModelInfo]:
        """The language models available to this key, sorted by name."""
        with rpc.translate("list models", target=self._target, timeout=self._timeout):
            reply = self._stub.ListLanguageModels(empty_pb2.Empty(), timeout=self._timeout)
        return sorted((ModelInfo.from_pb(m) for m in reply.models), key=lambda m: m.name)

    def get(self, name: str) -> ModelInfo:
        """One model by name or alias; NotFoundError (exit 4) for an unknown one."""
        with rpc.translate(f"get model {name}", target=self._target, timeout=self._timeout):
            reply = self._stub.GetLanguageModel(models_pb2.GetModelRequest(name=name), timeout=self._timeout)
        return ModelInfo.from_pb(reply)
