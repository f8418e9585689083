"""The accepted-token cache: 10 s for successes, nothing for refusals, bounded size."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from k3trio.apiserver.authn.base import InvalidToken, TokenResult
from k3trio.apiserver.authn.tokencache import TokenCache
from k3trio.apiserver.authn.union import UnionAuthenticator
from k3trio.apiserver.interfaces import UserInfo


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_ttl() -> None:
    clock = Clock()
    cache: TokenCache[str] = TokenCache(clock, ttl=10)
    cache.put("t", None, "alice")
    clock.now = 9.9
    assert cache.get("t", None) == "alice"
    clock.now = 10.0
    assert cache.get("t", None) is None
    assert len(cache) == 0


def test_audiences_are_part_of_the_key() -> None:
    cache: TokenCache[str] = TokenCache(Clock())
    cache.put("t", ["api"], "alice")
    assert cache.get("t", ["api"]) == "alice"
    assert cache.get("t", ["other"]) is None
    assert cache.get("t", None) is None


def test_least_recently_used_is_evicted() -> None:
    cache: TokenCache[int] = TokenCache(Clock(), max_entries=2)
    cache.put("a", None, 1)
    cache.put("b", None, 2)
    assert cache.get("a", None) == 1  # a is now the most recent
    cache.put("c", None, 3)
    assert cache.get("b", None) is None
    assert (cache.get("a", None), cache.get("c", None)) == (1, 3)


def test_zero_ttl_caches_nothing() -> None:
    cache: TokenCache[int] = TokenCache(Clock(), ttl=0)
    cache.put("a", None, 1)
    assert cache.get("a", None) is None


class Counting:
    """A token authenticator that accepts ``good`` and refuses everything else."""

    def __init__(self) -> None:
        self.calls = 0
        self.revoked = False

    async def authenticate_token(self, token: str, audiences: Sequence[str] | None = None) -> TokenResult | None:
        self.calls += 1
        if token != "good" or self.revoked:
            raise InvalidToken("token is invalid")
        return TokenResult(UserInfo(name="alice"))


async def test_union_remembers_accepted_tokens_for_ten_seconds(autojump_clock: trio.testing.MockClock) -> None:
    auth = Counting()
    union = UnionAuthenticator([auth])
    first = await union.authenticate_token("good")
    assert first is not None and first.user.name == "alice"
    auth.revoked = True
    await trio.sleep(9)
    again = await union.authenticate_token("good")
    assert again == first and auth.calls == 1
    await trio.sleep(1)
    with pytest.raises(InvalidToken):
        await union.authenticate_token("good")
    assert auth.calls == 2


async def test_union_never_remembers_refusals() -> None:
    auth = Counting()
    union = UnionAuthenticator([auth])
    for _ in range(2):
        with pytest.raises(InvalidToken):
            await union.authenticate_token("bad")
    assert auth.calls == 2
