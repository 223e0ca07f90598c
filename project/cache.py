"""Django's Redis cache backend, building one redis client per connection pool instead of one per call.

Django's ``RedisCacheClient.get_client()`` makes a new ``redis.Redis`` for every
cache operation, and each one builds its table of ~170 response callbacks:
about a fifth of a millisecond of CPU per operation, several times per poll
submission. A ``redis.Redis`` is thread-safe and holds no connection of its
own (the pool does), so one per pool serves every call.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(index)
        if client is None:
            client = clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
