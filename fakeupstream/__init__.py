"""A fast, deterministic fake of OpenAI / Groq / Anthropic upstream HTTP APIs.

See README.md in this directory for the wire formats, the control API and the CLI.
"""

from __future__ import annotations

from fakeupstream.app import FakeUpstreamApp, create_app, create_app_from_env
from fakeupstream.server import FakeUpstream, FakeUpstreamClient, FakeUpstreamProcess
from fakeupstream.state import DEFAULT_MODELS, KNOB_DEFAULTS, ConfigError
from fakeupstream.tokens import (
    WORDS,
    anthropic_input_tokens,
    completion_text,
    completion_tokens_list,
    embedding_vector,
    messages_tokens,
    text_tokens,
)

__all__ = [
    "DEFAULT_MODELS",
    "KNOB_DEFAULTS",
    "WORDS",
    "ConfigError",
    "FakeUpstream",
    "FakeUpstreamApp",
    "FakeUpstreamClient",
    "FakeUpstreamProcess",
    "anthropic_input_tokens",
    "completion_text",
    "completion_tokens_list",
    "create_app",
    "create_app_from_env",
    "embedding_vector",
    "messages_tokens",
    "text_tokens",
]
