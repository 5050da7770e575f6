"""The users and their devices, derived from a user's index instead of being stored.

A user is a number: `0 <= index < users` are accounts that existed before the logs begin,
`index >= users` are accounts created by sign-up flows during the run (a counter). Everything
about a user (raw 32-hex uid, 1-4 devices, each with a stable 32-hex device id and user
agent, locale, DNT) is a keyed BLAKE2 hash of (seed, index), so a pool of millions of users
costs no memory and every run with the same seed sees the same users.

Who is active when is skewed like real usage: `pick_existing` favours low indices, so a core
of users is active nearly every day (on one or several of their devices) and a long tail is
seen once a month; together they make daily actives, 28-day actives and multi-device users
(active on >= 2 devices within a few days) non-trivial. Sign-ups of the last days are kept in
a bounded ring so that new sync accounts keep signing certificates after their sign-up.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections import deque
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

from fxa_pipeline.generator.catalogue import AGENTS, LOCALES, Agent

_DEVICE_COUNT_WEIGHTS = (0.42, 0.33, 0.15, 0.10)  # 1, 2, 3, 4 devices
_AGENT_CUM = tuple(accumulate(a.weight for a in AGENTS))
_LOCALE_CUM = tuple(accumulate(w for _, w in LOCALES))
_DEVICE_COUNT_CUM = tuple(accumulate(_DEVICE_COUNT_WEIGHTS))
_RECENT_SIGNUPS = 20_000  # bounded: memory never grows with the run's length


class Device(NamedTuple):
    device_id: str
    agent: Agent


class User(NamedTuple):
    index: int
    uid: str  # raw, as the auth server logs it; HMACed only by the loader / legacy export
    devices: tuple[Device, ...]
    locale: str
    dnt: bool  # Do Not Track: the user's flows never carry utm_* fields


def _pick(cum: tuple[float, ...], u16: int) -> int:
    """Weighted choice from a cumulative weight table by a 16-bit random number."""
    return min(bisect.bisect_right(cum, u16 * cum[-1] / 65536.0), len(cum) - 1)


class Population:
    """Users by index; `seed` keys the hash so two seeds give two disjoint populations."""

    def __init__(self, seed: int, existing_users: int) -> None:
        self._key = hashlib.blake2b(f"fxa-metrics-sample:{seed}".encode(), digest_size=32).digest()
        self.existing_users = max(1, existing_users)
        self.created_users = 0
        self.recent_signups: deque[int] = deque(maxlen=_RECENT_SIGNUPS)
        self.user = lru_cache(maxsize=16_384)(self._derive_user)

    def _derive_user(self, index: int) -> User:
        # One 64-byte digest: uid (16 bytes), two device ids (32), 16 bytes of choices;
        # a second digest only for users with a third or fourth device.
        d = hashlib.blake2b(index.to_bytes(8, "little"), key=self._key, digest_size=64).digest()
        choices = d[48:64]
        n_devices = _pick(_DEVICE_COUNT_CUM, choices[0] << 8 | choices[1]) + 1
        ids = [d[16:32], d[32:48]]
        if n_devices > 2:
            more = hashlib.blake2b(d, key=self._key, digest_size=32).digest()
            ids += [more[:16], more[16:]]
        devices = tuple(
            Device(
                ids[k].hex(),
                AGENTS[_pick(_AGENT_CUM, choices[2 + 2 * k] << 8 | choices[3 + 2 * k])],
            )
            for k in range(n_devices)
        )
        return User(
            index,
            d[:16].hex(),
            devices,
            LOCALES[_pick(_LOCALE_CUM, choices[10] << 8 | choices[11])][0],
            choices[12] < 26,  # ~10% of users send DNT: 1
        )

    def pick_existing(self, rng: random.Random) -> User:
        """A user who has an account, skewed towards a core of frequent users."""
        if self.recent_signups and rng.random() < 0.12:
            return self.user(self.recent_signups[rng.randrange(len(self.recent_signups))])
        # The power law makes index 0..1% of the pool about as busy as the last 50%.
        return self.user(int(self.existing_users * rng.random() ** 2.2))

    def new_user(self) -> User:
        """The next account created by a sign-up flow."""
        index = self.existing_users + self.created_users
        self.created_users += 1
        return self.user(index)

    def note_signup(self, user: User) -> None:
        self.recent_signups.append(user.index)


def pick_device(rng: random.Random, user: User) -> Device:
    """The device a user uses now: mostly the first (primary) one."""
    if len(user.devices) == 1 or rng.random() < 0.55:
        return user.devices[0]
    return user.devices[rng.randrange(1, len(user.devices))]
