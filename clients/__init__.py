"""triserve's Python SDK: `Client` and `AsyncClient`, their errors, and the wire models.

    from clients import Client
    client = Client("http://127.0.0.1:8000")               # or TRISERVE_URL / TRISERVE_API_KEY
    result = client.compare("9.11和9.8哪个更大？")
    for r in result.results:
        print(r.role, r.thinking, r.content)

Importing this package never imports ray or torch: the wire models come from `serve.api.protocol`.
"""

from clients.async_client import AsyncClient
from clients.client import Client
from clients.conversation import Conversation, Turn
from clients.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APIStreamError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
)
from clients.streams import AsyncStream, Stream
from serve.api.openai import ChatCompletionChunk, ChatCompletionResponse, CompletionResponse
from serve.api.protocol import (
    CompareEvent,
    CompareResponse,
    GenerationParams,
    HealthResponse,
    Message,
    ModelList,
    RoleResult,
)

__all__ = [
    "Client", "AsyncClient", "Conversation", "Turn", "Stream", "AsyncStream",
    "APIError", "APIConnectionError", "APITimeoutError", "APIStreamError", "APIStatusError",
    "BadRequestError", "AuthenticationError", "NotFoundError", "RequestTimeoutError",
    "RequestTooLargeError", "UnsupportedMediaTypeError", "UnprocessableEntityError",
    "RateLimitError", "InternalServerError", "ServiceUnavailableError", "GatewayTimeoutError",
    "GenerationParams", "Message", "CompareResponse", "CompareEvent", "RoleResult",
    "ChatCompletionResponse", "ChatCompletionChunk", "CompletionResponse", "ModelList",
    "HealthResponse",
]
