"""User-agent parsing with ua-parser and its precompiled builtin rules.

Logs hold few distinct agents, so results are cached by agent string for the whole run and the
loader asks only for each batch's distinct agents. An unparseable, missing or absurdly long
agent gives NULLs, never a rejection; a parsed value longer than the column is also NULL.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ua_parser import parse

from fxa_pipeline.raw_schema import LONG_TEXT, SHORT_TEXT

# Agents longer than this are not parsed (NULLs): real agents are a few hundred characters, and
# the rules are regular expressions whose cost grows with the input.
MAX_AGENT_LENGTH = LONG_TEXT


# `"userAgent": <value>` in raw (possibly invalid) JSON, as uid_hmac matches `"uid"`.
_AGENT_VALUE = re.compile(r'("userAgent"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^\s,}\]]+)')
REDACTED_AGENT = '"[redacted]"'


def redact_user_agents(raw_line: str) -> str:
    """Replace the value of every `"userAgent"` field of a rejected line: the raw agent string
    is never stored (docs/data-contract.md#privacy), not even in `raw.rejected_lines.raw_line`."""
    return _AGENT_VALUE.sub(lambda match: match.group(1) + REDACTED_AGENT, raw_line)


class ParsedAgent(NamedTuple):
    ua_browser: str | None
    ua_version: str | None
    ua_os: str | None


_NOTHING = ParsedAgent(None, None, None)


def _fit(value: str | None) -> str | None:
    if not value or value == "Other" or len(value) > SHORT_TEXT:
        return None
    return value


def parse_agent(agent: str | None) -> ParsedAgent:
    """Browser family, `major` or `major.minor` (minor present and not "0"), OS family."""
    if not agent or len(agent) > MAX_AGENT_LENGTH:
        return _NOTHING
    result = parse(agent)
    browser = version = os_family = None
    if result.user_agent is not None:
        browser = _fit(result.user_agent.family)
        major, minor = result.user_agent.major, result.user_agent.minor
        if browser and major:
            version = _fit(major if not minor or minor == "0" else f"{major}.{minor}")
    if result.os is not None:
        os_family = _fit(result.os.family)
    return ParsedAgent(browser, version, os_family)


class AgentCache:
    """Parse each distinct agent once per run."""

    def __init__(self) -> None:
        self._cache: dict[str, ParsedAgent] = {}

    def lookup(self, agents: list[str]) -> list[ParsedAgent]:
        out = []
        for agent in agents:
            parsed = self._cache.get(agent)
            if parsed is None:
                parsed = parse_agent(agent)
                if len(self._cache) < 100_000:  # bounded memory on hostile input
                    self._cache[agent] = parsed
            out.append(parsed)
        return out
