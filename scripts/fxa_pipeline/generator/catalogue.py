"""Fixed vocabularies of the sample logs: user agents, services, contexts, utm values, names.

Every string here is written into JSON lines by string templates (no `json.dumps`), so none
may contain a double quote, a backslash or a control character; `_check_json_safe` enforces
that at import time.

Each user agent carries the browser / version / OS triple that `ua-parser` (with the
`ua-parser-builtins` rules) gives for it under the loader's rule (`major`, or
`major.minor` when minor is present and not `0`); the legacy CSV exports use these triples,
and a test checks them against the parser itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["desktop", "android", "ios", "other_browser", "unparseable"]


@dataclass(frozen=True)
class Agent:
    """A user agent string and what the loader will parse it into (None: NULL)."""

    user_agent: str | None  # None: the field is absent from the log line
    browser: str | None
    version: str | None
    os: str | None
    platform: Platform
    weight: float


def _ff_win(nt: str, arch: str, version: str) -> str:
    return f"Mozilla/5.0 (Windows NT {nt};{arch} rv:{version}) Gecko/20100101 Firefox/{version}"


AGENTS: tuple[Agent, ...] = (
    Agent(_ff_win("10.0", " Win64; x64;", "51.0"), "Firefox", "51", "Windows", "desktop", 14),
    Agent(_ff_win("10.0", " Win64; x64;", "52.0"), "Firefox", "52", "Windows", "desktop", 10),
    Agent(_ff_win("6.1", " WOW64;", "51.0"), "Firefox", "51", "Windows", "desktop", 8),
    Agent(_ff_win("6.1", "", "45.0"), "Firefox", "45", "Windows", "desktop", 2),
    Agent(_ff_win("6.1", " Win64; x64;", "50.0.2"), "Firefox", "50", "Windows", "desktop", 2),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:51.0) Gecko/20100101 Firefox/51.0",
        "Firefox",
        "51",
        "Mac OS X",
        "desktop",
        6,
    ),
    Agent(
        "Mozilla/5.0 (X11; Linux x86_64; rv:51.0) Gecko/20100101 Firefox/51.0",
        "Firefox",
        "51",
        "Linux",
        "desktop",
        3,
    ),
    Agent(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:52.0) Gecko/20100101 Firefox/52.0",
        "Firefox",
        "52",
        "Ubuntu",
        "desktop",
        2,
    ),
    Agent(
        "Mozilla/5.0 (Android 7.0; Mobile; rv:51.0) Gecko/51.0 Firefox/51.0",
        "Firefox Mobile",
        "51",
        "Android",
        "android",
        6,
    ),
    Agent(
        "Mozilla/5.0 (Android 6.0.1; Tablet; rv:52.0) Gecko/52.0 Firefox/52.0",
        "Firefox Mobile",
        "52",
        "Android",
        "android",
        2,
    ),
    Agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 10_2_1 like Mac OS X) AppleWebKit/602.4.6"
        " (KHTML, like Gecko) FxiOS/6.1b4325 Mobile/14D27 Safari/602.4.6",
        "Firefox iOS",
        "6.1",
        "iOS",
        "ios",
        5,
    ),
    Agent(
        "Mozilla/5.0 (iPad; CPU OS 10_2 like Mac OS X) AppleWebKit/602.3.12"
        " (KHTML, like Gecko) FxiOS/6.0b3902 Mobile/14C92 Safari/602.3.12",
        "Firefox iOS",
        "6",
        "iOS",
        "ios",
        1,
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/56.0.2924.87 Safari/537.36",
        "Chrome",
        "56",
        "Windows",
        "other_browser",
        4,
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_3) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/56.0.2924.87 Safari/537.36",
        "Chrome",
        "56",
        "Mac OS X",
        "other_browser",
        2,
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_3) AppleWebKit/602.4.8"
        " (KHTML, like Gecko) Version/10.0.3 Safari/602.4.8",
        "Safari",
        "10",
        "Mac OS X",
        "other_browser",
        1,
    ),
    Agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 10_2_1 like Mac OS X) AppleWebKit/602.4.6"
        " (KHTML, like Gecko) Version/10.0 Mobile/14D27 Safari/602.1",
        "Mobile Safari",
        "10",
        "iOS",
        "other_browser",
        1,
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/51.0.2704.79 Safari/537.36 Edge/14.14393",
        "Edge",
        "14.14393",
        "Windows",
        "other_browser",
        1,
    ),
    # Agents the parser cannot identify, and lines without any agent: NULLs, never rejects.
    Agent("FxSync/1.57.0.20170301040210.desktop", None, None, None, "unparseable", 0.4),
    Agent("not a browser", None, None, None, "unparseable", 0.2),
    Agent(None, None, None, None, "unparseable", 0.3),
)

# Sync and the OAuth reliers (16 hex ids, as FxA's client ids are).
OAUTH_CLIENT_IDS: tuple[str, ...] = (
    "5882386c6d801776",  # Firefox Notes
    "98e6508e88680e1a",  # Pocket
    "dcdb5ae7add825d2",  # addons.mozilla.org
    "3332a18d142636cb",  # Send
)

CONTEXTS_BY_PLATFORM: dict[Platform, tuple[tuple[str, float], ...]] = {
    "desktop": (("fx_desktop_v3", 80), ("iframe", 12), ("web", 8)),
    "android": (("fx_fennec_v1", 90), ("web", 10)),
    "ios": (("fx_ios_v1", 95), ("web", 5)),
    "other_browser": (("web", 85), ("iframe", 15)),
    "unparseable": (("web", 60), ("fx_desktop_v3", 40)),
}

ENTRYPOINTS: tuple[tuple[str, float], ...] = (
    ("menupanel", 30),
    ("preferences", 20),
    ("firstrun", 15),
    ("synced-tabs", 8),
    ("app-menu", 6),
    ("uitour", 4),
    ("none", 2),  # the pre-train-71 placeholder: loaded as NULL
    ("", 15),  # absent
)

LOCALES: tuple[tuple[str, float], ...] = (
    ("en-US", 40),
    ("de", 12),
    ("fr", 9),
    ("es-ES", 5),
    ("pt-BR", 5),
    ("ru", 5),
    ("pl", 4),
    ("ja", 3),
    ("zh-CN", 3),
    ("en-GB", 4),
    ("it", 3),
    ("none", 1),
    ("", 6),
)

# utm_* sets: (campaign, content, medium, source, term); "" means the field is absent.
UTM_SETS: tuple[tuple[tuple[str, str, str, str, str], float], ...] = (
    (("fx-new-tab", "", "email", "newsletter", ""), 20),
    (("firstrun", "get-started", "referral", "firefox", ""), 15),
    (("sync-promo", "sidebar", "referral", "amo", ""), 8),
    (("fxa-embedded-form", "", "referral", "mozilla.org", ""), 10),
    (("spring-2017", "banner_01", "cpc", "google", "firefox%20sync"), 6),
    (("", "", "", "", ""), 35),
    # Invalid values the loader must NULL out (train 75 validation): spaces, a comma,
    # a quote-free punctuation mark, more than 100 characters.
    (("spring sale", "", "email", "news letter", ""), 2),
    (("promo, march", "a" * 101, "email", "newsletter", "<script>"), 1),
    (("none", "", "email", "newsletter", ""), 1),
)

MIGRATIONS: tuple[tuple[str, float], ...] = (
    ("", 94),
    ("sync11", 3),
    ("amo", 2),
    ("none", 1),
)

SERVICE_SYNC = "sync"

# Request log Types other than flow/activity events: ignored by the loader.
AUTH_HOSTS = ("auth1", "auth2", "auth3", "auth4")
CONTENT_HOSTS = ("content1", "content2", "content3", "content4")
TEXT_MODE_HOST = "auth4"  # on text-mode days this host logs in the human-readable mode

EMAIL_SIGNUP_SYNC = "verifySyncEmail"
EMAIL_SIGNUP = "verifyEmail"
EMAIL_SIGNIN = "verifyLoginEmail"
EMAIL_RESET = "recoveryEmail"
EMAIL_POST_VERIFY = "postVerifyEmail"
SMS_TEMPLATE = "installFirefox"


def _check_json_safe() -> None:
    strings: list[str] = [a.user_agent for a in AGENTS if a.user_agent]
    strings += list(OAUTH_CLIENT_IDS)
    strings += [c for choices in CONTEXTS_BY_PLATFORM.values() for c, _ in choices]
    strings += [v for v, _ in ENTRYPOINTS + LOCALES + MIGRATIONS]
    strings += [v for utm, _ in UTM_SETS for v in utm]
    for s in strings:
        if any(ch in s for ch in '"\\') or any(ord(ch) < 0x20 for ch in s):
            raise ValueError(f"catalogue string is not JSON-safe: {s!r}")


_check_json_safe()
