"""ua_version is `major`, or `major.minor` when minor is present and not 0; junk gives NULLs."""

from conftest import FIREFOX_50_WINDOWS, FIREFOX_IOS
from fxa_pipeline.useragent import AgentCache, ParsedAgent, parse_agent


def test_major_only_when_minor_is_zero() -> None:
    assert parse_agent(FIREFOX_50_WINDOWS) == ParsedAgent("Firefox", "50", "Windows")


def test_major_minor_when_minor_is_not_zero() -> None:
    assert parse_agent(FIREFOX_IOS) == ParsedAgent("Firefox iOS", "5.3", "iOS")


def test_unparseable_missing_or_huge_agents_give_nulls() -> None:
    nothing = ParsedAgent(None, None, None)
    assert parse_agent("qwerty zxcv 123") == nothing
    assert parse_agent(None) == nothing
    assert parse_agent("") == nothing
    assert parse_agent("Firefox/50.0 " * 1000) == nothing


def test_cache_returns_the_same_results() -> None:
    cache = AgentCache()
    first = cache.lookup([FIREFOX_50_WINDOWS, "junk"])
    assert cache.lookup([FIREFOX_50_WINDOWS, "junk"]) == first
