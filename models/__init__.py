"""Typed messages of the BookImg pipeline (one per hop) and the job record."""

from models.messages import *  # noqa: F403
from models.messages import HOP_MODELS, SCHEMA_VERSION, dump_message, parse_message  # noqa: F401
