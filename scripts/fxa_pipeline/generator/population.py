"""The users and their devices, derived from a user's index instead of being stored.

A user is a number: `0 <= index < users` are accounts that existed before the logs begin,
`index >= users` are accounts created by sign-up flows during the run (a counter). Everything
about a user (raw 32-hex uid, 1-4 devices, each with a stable 32-hex device id and user
agent, locale, DNT) is a keyed BLAKE2 hash of (seed, index), so a pool of millions of users
costs no memory and every run with the same seed sees the same users.

Who is active when is skewed like real usage: `pick_existing` favours low indices, so a core
of users is active nearly every day (on one or several of their devices) and a long tail is
seen once a month; together they make daily actives, 28-day actives and multi-device users
(active on >= 2 devices within a few days) non-trivial.

Accounts created during the run come back: a share of the picks is a sign-up of an earlier
day, the age in days drawn with weight 1 / (age + 3) up to six weeks, so a new account's
chance to be active on a day falls with its age and not with the run's length or traffic:
every sign-up cohort retains alike (about 25% active again in week 1 after sign-up, 17% in
week 2, 13% in week 3). Sign-up flows take user indices in begin-time order, so the accounts
created by the flows begun on a day are a bit set over that day's range of indices (1 bit per
sign-up flow, six weeks kept: 2 MB at a million flows a day); a pick draws an index of the
range until it hits an account, at most `_RETURN_TRIES` times.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

from fxa_pipeline.generator.catalogue import AGENTS, LOCALES, Agent

_DEVICE_COUNT_WEIGHTS = (0.42, 0.33, 0.15, 0.10)  # 1, 2, 3, 4 devices
_AGENT_CUM = tuple(accumulate(a.weight for a in AGENTS))
_LOCALE_CUM = tuple(accumulate(w for _, w in LOCALES))
_DEVICE_COUNT_CUM = tuple(accumulate(_DEVICE_COUNT_WEIGHTS))
# Returning new accounts: the share of picks that go to a sign-up of an earlier day, the
# cumulative weights of its age (1..42 days), and the draws to hit an account of that day.
_RETURN_SHARE = 0.2
_RETURN_MAX_AGE_DAYS = 42
_RETURN_AGE_CUM = tuple(accumulate(1.0 / (age + 3) for age in range(1, _RETURN_MAX_AGE_DAYS + 1)))
_RETURN_TRIES = 4


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
        # day number -> (first user index of the day's sign-up flows, bit set of the offsets
        # from it that created an account)
        self.signups: dict[int, tuple[int, bytearray]] = {}
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

    def pick_existing(self, rng: random.Random, day: int) -> User:
        """A user who has an account on `day` (a day number): now and then one created on an
        earlier day of the run, else one of the pool, skewed towards a core of frequent users."""
        if rng.random() < _RETURN_SHARE:
            age = 1 + bisect.bisect_right(_RETURN_AGE_CUM, rng.random() * _RETURN_AGE_CUM[-1])
            signups = self.signups.get(day - age)
            if signups:
                first, bits = signups
                for _ in range(_RETURN_TRIES):
                    offset = rng.randrange(8 * len(bits))
                    if bits[offset >> 3] >> (offset & 7) & 1:
                        return self.user(first + offset)
        # The power law makes index 0..1% of the pool about as busy as the last 50%.
        return self.user(int(self.existing_users * rng.random() ** 2.2))

    def new_user(self) -> User:
        """The next account created by a sign-up flow."""
        index = self.existing_users + self.created_users
        self.created_users += 1
        return self.user(index)

    def note_signup(self, user: User, day: int) -> None:
        """`user`, of a sign-up flow begun on `day` (a day number), created an account."""
        signups = self.signups.get(day)
        if signups is None:  # a new day: forget the days too old to be picked again
            for old in [d for d in self.signups if d < day - _RETURN_MAX_AGE_DAYS]:
                del self.signups[old]
            signups = self.signups[day] = (user.index, bytearray())
        first, bits = signups
        offset = user.index - first  # >= 0: indices grow with the flows' begin times
        if len(bits) <= offset >> 3:
            bits.extend(bytes((offset >> 3) + 1 - len(bits)))
        bits[offset >> 3] |= 1 << (offset & 7)


def pick_device(rng: random.Random, user: User) -> Device:
    """The device a user uses now: mostly the first (primary) one."""
    if len(user.devices) == 1 or rng.random() < 0.55:
        return user.devices[0]
    return user.devices[rng.randrange(1, len(user.devices))]
