"""The local server's Models service: one language model, the retrieval engine, under any name.

`ListLanguageModels` lists the engine once, with the client's default model name among its aliases.
`GetLanguageModel` answers for whatever non-empty name is asked (the chat service does the same),
with that name in `name`, so clients configured for `grok-4` or any other model work unchanged.

Prices are nominal (nothing is billed locally); they exist so that clients' cost display is
exercised end to end. Units are the wire's: `prompt_text_token_price` etc. in
1/100 US cent per million tokens, which is exactly USD ticks (1e-10 USD) per token.
"""

from __future__ import annotations

import grpc

from xai_files_cli._pb import models_pb2, models_pb2_grpc
from xai_files_cli.emulator.chat_engine import ENGINE_NAME

MODEL_NAME = "xai-local-retrieval"
MODEL_ALIASES = ("grok-4", "grok-4-latest")
PROMPT_TEXT_TICKS_PER_TOKEN = 2_000  # $0.20 per million prompt tokens
PROMPT_IMAGE_TICKS_PER_TOKEN = 2_000
CACHED_PROMPT_TICKS_PER_TOKEN = 500  # $0.05 per million cached prompt tokens
COMPLETION_TICKS_PER_TOKEN = 10_000  # $1.00 per million completion (and reasoning) tokens
MAX_PROMPT_TOKENS = 10_000_000
CREATED_SECONDS = 1_767_225_600  # 2026-01-01T00:00:00Z: fixed, so listings are reproducible


def language_model(name: str = MODEL_NAME) -> models_pb2.LanguageModel:
    """The engine's model description, answering to `name`."""
    aliases = [n for n in (MODEL_NAME, *MODEL_ALIASES) if n != name]
    model = models_pb2.LanguageModel(
        name=name,
        aliases=aliases,
        version="1.0.0",
        input_modalities=[models_pb2.TEXT],
        output_modalities=[models_pb2.TEXT],
        prompt_text_token_price=PROMPT_TEXT_TICKS_PER_TOKEN,
        prompt_image_token_price=PROMPT_IMAGE_TICKS_PER_TOKEN,
        cached_prompt_token_price=CACHED_PROMPT_TICKS_PER_TOKEN,
        completion_text_token_price=COMPLETION_TICKS_PER_TOKEN,
        search_price=0,
        max_prompt_length=MAX_PROMPT_TOKENS,
        system_fingerprint=ENGINE_NAME,
    )
    model.created.seconds = CREATED_SECONDS
    return model


def cost_in_ticks(*, prompt_text: int, cached: int, images: int, completion: int) -> int:
    """Nominal cost of one request in USD ticks, from the listed prices."""
    return (
        prompt_text * PROMPT_TEXT_TICKS_PER_TOKEN
        + cached * CACHED_PROMPT_TICKS_PER_TOKEN
        + images * PROMPT_IMAGE_TICKS_PER_TOKEN
        + completion * COMPLETION_TICKS_PER_TOKEN
    )


class ModelsServicer(models_pb2_grpc.ModelsServicer):
    """`xai_api.Models`: the language model list and lookup; no embedding or image models."""

    def ListLanguageModels(self, request, context):
        return models_pb2.ListLanguageModelsResponse(models=[language_model()])

    def GetLanguageModel(self, request, context):
        if not request.name.strip():
            context.abort(grpc.StatusCode.NOT_FOUND, "model name is empty")
        return language_model(request.name)

    # The local server has no embedding or image models: empty lists, and NOT_FOUND by name.
    def ListEmbeddingModels(self, request, context):
        return models_pb2.ListEmbeddingModelsResponse()

    def GetEmbeddingModel(self, request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, f"no embedding model {request.name!r} on the local server")

    def ListImageGenerationModels(self, request, context):
        return models_pb2.ListImageGenerationModelsResponse()

    def GetImageGenerationModel(self, request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, f"no image model {request.name!r} on the local server")
