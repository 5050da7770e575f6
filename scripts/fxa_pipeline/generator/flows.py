"""Simulated sign-up, sign-in and password-reset flows, and background activity sessions.

A flow walks the funnel of metrics-events.md and may stop after any step:

    flow.begin -> flow.<view>.view -> .engage -> .submit -> flow.<action>.attempt
      -> account.created / account.login (errors: customs.blocked, route.../400.103, ...)
      -> email.verification.sent / email.confirmation.sent (sign-in: only sometimes)
      -> email.verify_code.clicked (minutes later) -> account.verified / account.confirmed
      -> flow.complete (+ account.keyfetch, account.signed for Sync)

`flow_time` starts at 0 on `flow.begin` and never decreases; every flow ends within 100
minutes (flow ids live two hours). Each auth-server step that the spec lists as an activity
event is also emitted as one (same time, the user's uid, the device id for device events and
certificate signing). Background sessions are Sync devices signing certificates, fetching keys
and updating device records, day after day: the bulk of activity events.
"""

from __future__ import annotations

import bisect
import math
import random
from itertools import accumulate

from fxa_pipeline.generator import catalogue as cat
from fxa_pipeline.generator.events import (
    ACTIVITY,
    AUTH_FLOW,
    AUTH_REQUEST,
    CONTENT_FLOW,
    CONTENT_REQUEST,
    Event,
    FlowContext,
)
from fxa_pipeline.generator.population import Device, Population, User, pick_device
from fxa_pipeline.generator.timeline import DAY_MS

MAX_FLOW_TIME_MS = 100 * 60_000

_ENTRY_CUM = tuple(accumulate(w for _, w in cat.ENTRYPOINTS))
_UTM_CUM = tuple(accumulate(w for _, w in cat.UTM_SETS))
_MIGRATION_CUM = tuple(accumulate(w for _, w in cat.MIGRATIONS))
_CONTEXT_CUM = {p: tuple(accumulate(w for _, w in c)) for p, c in cat.CONTEXTS_BY_PLATFORM.items()}
_NO_UTM = ("", "", "", "", "")
_FIREFOX = ("desktop", "android", "ios", "unparseable")


def _choice(rng: random.Random, cum: tuple[float, ...]) -> int:
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _uniform_ms(rng: random.Random, lo: int, hi: int) -> int:
    return lo + int(rng.random() * (hi - lo))


def _think_ms(rng: random.Random, lo: int, hi: int) -> int:
    """Time before the user interacts with a form: seconds, or for a few users who left
    the tab open and came back, 20-90 minutes (why flow ids live two hours)."""
    if rng.random() < 0.04:
        return _uniform_ms(rng, 20 * 60_000, 90 * 60_000)
    return _uniform_ms(rng, lo, hi)


def _minutes_lognormal(rng: random.Random, median_min: float) -> int:
    """Time to act on an email: a long-tailed wait, median `median_min` minutes."""
    return int(60_000 * median_min * math.exp(rng.gauss(0.0, 0.9)))


def service_for(rng: random.Random, platform: str) -> str:
    if platform in _FIREFOX:
        r = rng.random()
        if r < 0.72:
            return cat.SERVICE_SYNC
        if r < 0.85:
            return ""  # Sync, as older clients log it
    return cat.OAUTH_CLIENT_IDS[rng.randrange(len(cat.OAUTH_CLIENT_IDS))]


def device_service(device: Device) -> str:
    """The service a device's background activity is logged with: fixed per device (a Sync
    client logs `sync` or, older ones, an empty string; other browsers an OAuth relier)."""
    h = int(device.device_id[:4], 16)
    if device.agent.platform in _FIREFOX:
        return "" if h % 5 == 0 else cat.SERVICE_SYNC
    return cat.OAUTH_CLIENT_IDS[h % len(cat.OAUTH_CLIENT_IDS)]


class FlowBuilder:
    """Appends the events of one flow, advancing `flow_time`."""

    __slots__ = ("begin_ms", "ctx", "events", "ft", "sync")

    def __init__(self, ctx: FlowContext, begin_ms: int) -> None:
        self.ctx = ctx
        self.begin_ms = begin_ms
        self.events: list[Event] = []
        self.ft = 0
        self.sync = ctx.service in (cat.SERVICE_SYNC, "")

    def _advance(self, dt_ms: int) -> bool:
        """Move the flow clock on; False when the flow would outlive its id (it stops)."""
        if self.ft + dt_ms > MAX_FLOW_TIME_MS:
            return False
        self.ft += dt_ms
        return True

    def content(self, name: str, dt_ms: int) -> bool:
        if not self._advance(dt_ms):
            return False
        self.events.append(
            Event(CONTENT_FLOW, name, self.begin_ms + self.ft, self.ctx, self.ft, "", "")
        )
        return True

    def auth(self, name: str, dt_ms: int, uid: str = "") -> bool:
        if not self._advance(dt_ms):
            return False
        self.events.append(Event(AUTH_FLOW, name, self.begin_ms + self.ft, self.ctx, self.ft, uid))
        return True

    def activity(self, name: str, user: User, device_id: str = "") -> None:
        self.events.append(
            Event(
                ACTIVITY,
                name,
                self.begin_ms + self.ft,
                None,
                0,
                user.uid,
                device_id,
                self.ctx.agent,
                self.ctx.service,
            )
        )

    def request(self, path: str, code: int, dt_ms: int) -> None:
        fields = f'{{"path": "{path}", "method": "post", "code": {code}, "t": {dt_ms}}}'
        self.events.append(
            Event(AUTH_REQUEST, "request.summary", self.begin_ms + self.ft, extra=fields)
        )


def _context(rng: random.Random, flow_id: str, user: User, agent: cat.Agent) -> FlowContext:
    platform = agent.platform
    contexts = cat.CONTEXTS_BY_PLATFORM[platform]
    context = contexts[_choice(rng, _CONTEXT_CUM[platform])][0]
    service = service_for(rng, platform)
    utm = _NO_UTM if user.dnt else cat.UTM_SETS[_choice(rng, _UTM_CUM)][0]
    return FlowContext(
        flow_id=flow_id,
        agent=agent,
        service=service,
        context=context,
        entrypoint=cat.ENTRYPOINTS[_choice(rng, _ENTRY_CUM)][0],
        migration=cat.MIGRATIONS[_choice(rng, _MIGRATION_CUM)][0],
        utm=utm,
        locale=user.locale,
    )


def simulate_flow(rng: random.Random, population: Population, begin_ms: int) -> list[Event]:
    """All events of one new flow, in flow_time order."""
    flow_id = f"{rng.getrandbits(256):064x}"
    r = rng.random()
    if r < 0.38:
        user = population.new_user()
        device = user.devices[0]
        b = FlowBuilder(_context(rng, flow_id, user, device.agent), begin_ms)
        _sign_up(rng, population, b, user, device.device_id)
    else:
        user = population.pick_existing(rng, begin_ms // DAY_MS)
        device = pick_device(rng, user)
        b = FlowBuilder(_context(rng, flow_id, user, device.agent), begin_ms)
        _sign_in(rng, b, user, device.device_id)
    return b.events


def _begin(rng: random.Random, b: FlowBuilder, view: str) -> None:
    # A few flows still log the trains 71-74 name, which the loader stores as flow.begin.
    b.content(f"flow.{view}.begin" if rng.random() < 0.015 else "flow.begin", 0)
    if rng.random() < 0.3:
        fields = f'{{"path": "/{view}", "method": "get", "code": 200, "t": {rng.randrange(5, 80)}}}'
        b.events.append(Event(CONTENT_REQUEST, "request.summary", b.begin_ms, extra=fields))


def _email_roundtrip(
    rng: random.Random, b: FlowBuilder, uid: str, sent: str, template: str, click_rate: float
) -> bool:
    """Send an email, maybe deliver or bounce it, maybe have the user click its link."""
    if not b.auth(sent, _uniform_ms(rng, 80, 900), uid):
        return False
    r = rng.random()
    if r < 0.015:
        b.auth(f"email.{template}.bounced", _uniform_ms(rng, 2_000, 60_000), uid)
        return False
    if r < 0.96:
        b.auth(f"email.{template}.delivered", _uniform_ms(rng, 1_000, 30_000), uid)
    if rng.random() < 0.05:
        resent = sent.replace(".sent", ".resent")
        if not b.auth(resent, _minutes_lognormal(rng, 2.0), uid):
            return False
    if rng.random() > click_rate:
        return False
    if not b.auth("email.verify_code.clicked", _minutes_lognormal(rng, 3.0), uid):
        return False
    b.request("/recovery_email/verify_code", 200, rng.randrange(20, 200))
    b.auth("route./recovery_email/verify_code.200", rng.randrange(20, 200), uid)
    return True


def _sync_keys_and_cert(
    rng: random.Random, b: FlowBuilder, user: User, device_id: str, complete: bool
) -> None:
    uid = user.uid
    if b.sync and b.auth("account.keyfetch", _uniform_ms(rng, 300, 3_000), uid):
        b.activity("account.keyfetch", user)
    if complete:
        b.auth("flow.complete", 0, uid)
    if b.sync and b.auth("account.signed", _uniform_ms(rng, 200, 5_000), uid):
        b.activity("account.signed", user, device_id)
        b.auth("route./certificate/sign.200", rng.randrange(5, 60), uid)
    if rng.random() < 0.02:
        b.auth(f"sms.{cat.SMS_TEMPLATE}.sent", _uniform_ms(rng, 10_000, 180_000), uid)


def _sign_up(
    rng: random.Random, population: Population, b: FlowBuilder, user: User, device_id: str
) -> None:
    _begin(rng, b, "signup")
    if rng.random() > 0.93 or not b.content("flow.signup.view", _uniform_ms(rng, 300, 2_500)):
        return
    if rng.random() < 0.04:
        b.content("flow.signup.have-account", _uniform_ms(rng, 2_000, 20_000))
        return
    if rng.random() > 0.8 or not b.content("flow.signup.engage", _think_ms(rng, 2_000, 40_000)):
        return
    if rng.random() > 0.85 or not b.content("flow.signup.submit", _uniform_ms(rng, 8_000, 120_000)):
        return
    if rng.random() > 0.97 or not b.content("flow.signup.attempt", _uniform_ms(rng, 30, 400)):
        return
    r = rng.random()
    if r < 0.01:
        b.auth("customs.blocked", _uniform_ms(rng, 50, 400))
        b.auth("route./account/create.400.125", rng.randrange(1, 20))
        return
    if r < 0.035:
        b.request("/account/create", 400, rng.randrange(50, 400))
        b.auth("route./account/create.400.101", _uniform_ms(rng, 50, 400))
        return
    uid = user.uid
    b.request("/account/create", 200, rng.randrange(50, 400))
    b.auth("route./account/create.200", _uniform_ms(rng, 100, 900), uid)
    b.auth("account.created", rng.randrange(0, 20), uid)
    b.activity("account.created", user)
    population.note_signup(user, b.begin_ms // DAY_MS)
    if b.sync and rng.random() < 0.8:
        b.activity("device.created", user, device_id)
    template = cat.EMAIL_SIGNUP_SYNC if b.sync else cat.EMAIL_SIGNUP
    if not _email_roundtrip(rng, b, uid, "email.verification.sent", template, 0.74):
        return
    b.auth("account.verified", rng.randrange(0, 50), uid)
    b.activity("account.verified", user)
    if rng.random() < 0.5:
        b.auth(f"email.{cat.EMAIL_POST_VERIFY}.delivered", _uniform_ms(rng, 1_000, 20_000), uid)
    _sync_keys_and_cert(rng, b, user, device_id, complete=rng.random() < 0.97)


def _sign_in(rng: random.Random, b: FlowBuilder, user: User, device_id: str) -> None:
    view = "force_auth" if rng.random() < 0.08 else "signin"
    _begin(rng, b, view)
    if rng.random() > 0.95 or not b.content(f"flow.{view}.view", _uniform_ms(rng, 300, 2_500)):
        return
    r = rng.random()
    if r < 0.04:
        _reset_password(rng, b, user, view)
        return
    if r < 0.07:
        b.content(f"flow.{view}.create-account", _uniform_ms(rng, 2_000, 20_000))
        return
    if rng.random() > 0.88 or not b.content(f"flow.{view}.engage", _think_ms(rng, 1_000, 20_000)):
        return
    uid = user.uid
    for attempt in range(3):
        if rng.random() > 0.9 or not b.content(
            f"flow.{view}.submit", _uniform_ms(rng, 3_000, 45_000 if attempt == 0 else 20_000)
        ):
            return
        if not b.content("flow.signin.attempt", _uniform_ms(rng, 30, 300)):
            return
        r = rng.random()
        if r < 0.012:
            b.auth("customs.blocked", _uniform_ms(rng, 50, 400))
            b.auth("route./account/login.400.125", rng.randrange(1, 20))
            return
        if r < 0.11:  # incorrect password; some users try again
            b.request("/account/login", 400, rng.randrange(50, 400))
            b.auth("route./account/login.400.103", _uniform_ms(rng, 50, 400))
            if rng.random() < 0.55:
                continue
            return
        break
    else:
        return
    if rng.random() < 0.01:
        b.auth("account.login.sentUnblockCode", _uniform_ms(rng, 50, 400), uid)
        if rng.random() > 0.6 or not b.auth(
            "account.login.confirmedUnblockCode", _minutes_lognormal(rng, 2.0), uid
        ):
            return
    b.request("/account/login", 200, rng.randrange(50, 400))
    b.auth("route./account/login.200", _uniform_ms(rng, 50, 600), uid)
    b.auth("account.login", rng.randrange(0, 20), uid)
    b.activity("account.login", user)
    if b.sync:
        r = rng.random()
        if r < 0.35:
            b.activity("device.created", user, device_id)
        elif r < 0.65:
            b.activity("device.updated", user, device_id)
    if rng.random() < 0.4:  # sign-in confirmation: only for some logins
        if not _email_roundtrip(rng, b, uid, "email.confirmation.sent", cat.EMAIL_SIGNIN, 0.8):
            return
        b.auth("account.confirmed", rng.randrange(0, 50), uid)
        b.activity("account.confirmed", user)
    _sync_keys_and_cert(rng, b, user, device_id, complete=rng.random() < 0.98)


def _reset_password(rng: random.Random, b: FlowBuilder, user: User, view: str) -> None:
    uid = user.uid
    b.content(f"flow.{view}.forgot-password", _uniform_ms(rng, 2_000, 20_000))
    if rng.random() > 0.85:
        return
    b.auth("password.forgot.send_code.start", _uniform_ms(rng, 5_000, 40_000), uid)
    b.auth("password.forgot.send_code.completed", _uniform_ms(rng, 100, 900), uid)
    b.auth(f"email.{cat.EMAIL_RESET}.delivered", _uniform_ms(rng, 1_000, 30_000), uid)
    if rng.random() < 0.15:
        b.auth("password.forgot.resend_code.start", _minutes_lognormal(rng, 3.0), uid)
        b.auth("password.forgot.resend_code.completed", _uniform_ms(rng, 100, 900), uid)
    if rng.random() > 0.7:
        return
    if not b.auth("password.forgot.verify_code.start", _minutes_lognormal(rng, 4.0), uid):
        return
    b.auth("password.forgot.verify_code.completed", _uniform_ms(rng, 100, 900), uid)
    if not b.auth("account.reset", _uniform_ms(rng, 10_000, 90_000), uid):
        return
    b.activity("account.reset", user)
    b.auth("flow.complete", rng.randrange(0, 50), uid)


def simulate_session(rng: random.Random, population: Population, start_ms: int) -> list[Event]:
    """A signed-in device being used: certificate signing, key fetches, device updates."""
    user = population.pick_existing(rng, start_ms // DAY_MS)
    device = pick_device(rng, user)
    agent = device.agent
    service = device_service(device)
    t = start_ms
    events = [
        Event(ACTIVITY, "account.signed", t, None, 0, user.uid, device.device_id, agent, service)
    ]
    r = rng.random()
    if r < 0.15:
        t += rng.randrange(100, 5_000)
        events.append(Event(ACTIVITY, "account.keyfetch", t, None, 0, user.uid, "", agent, service))
    if r < 0.04:
        t += rng.randrange(100, 60_000)
        events.append(
            Event(
                ACTIVITY, "device.updated", t, None, 0, user.uid, device.device_id, agent, service
            )
        )
    r = rng.random()
    if r < 0.002:
        t += rng.randrange(1_000, 600_000)
        events.append(
            Event(
                ACTIVITY, "device.deleted", t, None, 0, user.uid, device.device_id, agent, service
            )
        )
    elif r < 0.0025:
        t += rng.randrange(1_000, 600_000)
        events.append(Event(ACTIVITY, "account.deleted", t, None, 0, user.uid, "", agent, service))
    return events
