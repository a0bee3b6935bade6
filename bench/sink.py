"""A fast HTTP/1.1 sink for deliveries: `python -m bench.sink PORT`.

It answers every POST at once with 200 (or after `delay` seconds on /slow, never on /hang),
counts requests per path with their arrival times (stats give the first, the last, and those
at 10% and 90% of the count, so a rate can leave out the start and the end), and records when
each CloudEvent id arrived on a path under /timed (for end-to-end latency, per path: one per
action). GET /stats and GET /arrivals report; POST /reset clears.
A raw asyncio server, so that the sink is never what a delivery benchmark measures.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict

import orjson

SLOW_SECONDS = 5.0


class Sink:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.moments: dict[str, list[float]] = defaultdict(list)
        self.arrivals: dict[str, dict[str, float]] = defaultdict(dict)

    def record(self, path: str, body: bytes) -> None:
        moment = time.time()
        self.moments[path].append(moment)
        if path.startswith("/timed"):
            data = orjson.loads(body)  # a CloudEvent from the hub, or the raw Typeform webhook from E0
            self.arrivals[path][data.get("id") or data["event_id"]] = moment

    def stats(self) -> bytes:
        def figures(moments: list[float]) -> dict[str, float]:
            count = len(moments)  # arrivals are appended in time order
            return {"count": count, "first": moments[0], "last": moments[-1],
                    "t10": moments[count // 10], "t90": moments[(count * 9) // 10 - (count >= 10)]}

        return orjson.dumps({path: figures(moments) for path, moments in self.moments.items()})

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                answer = await self.answer(method, path, body)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(answer), answer))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, path: str, body: bytes) -> bytes:
        if method == "GET":
            return self.stats() if path == "/stats" else orjson.dumps(self.arrivals)
        if path == "/reset":
            self.reset()
            return b"{}"
        if path == "/slow":
            await asyncio.sleep(SLOW_SECONDS)
        elif path == "/hang":
            await asyncio.sleep(3600)
        self.record(path, body)
        return b"{}"


async def serve(port: int) -> None:
    sink = Sink()
    server = await asyncio.start_server(sink.handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
