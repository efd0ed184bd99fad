"""One Lua script run for many concurrent requests in one Redis round trip.

Every gateway request needs the token-bucket script once, and every signed
request a service receives the nonce script once. Sent one by one, each call
pays a write, a read and the client's per-command bookkeeping; here the calls
made during one turn of the event loop go out together as a pipeline (each
call is still its own atomic script run), which is what keeps the cost per
request low under load. A single call is simply a pipeline of one."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

Call = tuple[Sequence[Any], Sequence[Any], "asyncio.Future[Any]"]


class BatchedScript:
    def __init__(self, redis: aioredis.Redis, source: str) -> None:
        self.redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts so
        self._pending: list[Call] = []
        self._running: set[asyncio.Future[None]] = set()

    async def __call__(self, *, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((keys, args, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._run(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[Call]) -> None:
        try:
            results = await self._send(batch)
            missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
            if missing:  # Redis restarted or was flushed: load it and redo just those
                await self.redis.script_load(self.source)
                again = await self._send([batch[i] for i in missing])
                for i, result in zip(missing, again, strict=True):
                    results[i] = result
        except Exception as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # its request went away meanwhile
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _send(self, batch: list[Call]) -> list[Any]:
        if len(batch) == 1:  # a lone call: a pipeline's bookkeeping would be all overhead
            keys, args, _ = batch[0]
            try:
                return [await self.redis.evalsha(self.sha, len(keys), *keys, *args)]
            except ResponseError as exc:  # as the pipeline reports it (NoScriptError is one)
                return [exc]
        async with self.redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self.sha, len(keys), *keys, *args)
            results: list[Any] = await pipe.execute(raise_on_error=False)
        return results
