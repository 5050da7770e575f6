"""User-agent parsing with ua-parser and its precompiled builtin rules (docs/loader.md).

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
REDACTED = "[redacted]"
REDACTED_AGENT = f'"{REDACTED}"'

# A user agent's product token (`Mozilla/5.0`, `Gecko/20100101`, `FxSync/1.57.0`,
# `Firefox-iOS-FxA/5.3`): a name, a slash, a digit. No other field of a log line has one.
_PRODUCT_TOKEN = re.compile(r"(?<![\w.+-])[A-Za-z][\w.+-]*/[0-9]")


def redact_user_agents(raw_line: str) -> str:
    """Redact the user agents of a rejected line: the raw agent string is never stored, not even
    in `raw.rejected_lines.raw_line`.

    1. The value of every `"userAgent"` field becomes `"[redacted]"` (any value shape, on
       invalid JSON too).
    2. For agents whose key is damaged (a flipped byte, a cut) or whose value is not a plain
       string: every piece of the line between double quotes (or between a quote and an end of
       the line; a line without quotes is one piece) that holds a product token is replaced
       by `[redacted]`, the quotes kept.
    """
    line = _AGENT_VALUE.sub(lambda match: match.group(1) + REDACTED_AGENT, raw_line)
    if _PRODUCT_TOKEN.search(line) is None:
        return line
    pieces = line.split('"')
    return '"'.join(REDACTED if _PRODUCT_TOKEN.search(piece) else piece for piece in pieces)


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
