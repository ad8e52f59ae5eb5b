"""SmtpSender cost per message: pooled connections vs one connection per message (the old sender,
which was exactly `aiosmtplib.send`). A sink aiosmtpd server runs in a child process, so
time.process_time() counts the sending process only. 32 sends in flight, as the agent's outbox.
    .venv/bin/python benchmarks/bench_smtp.py [--n 500] [--runs 5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time

import aiosmtplib

from mailorder.mail.smtp import SmtpSender

RAW = (
    b"From: orders@example.com\r\nTo: rep@example.com\r\nSubject: Order summary\r\n"
    b"Message-ID: <bench@example.com>\r\n\r\n"
    + b"A line of an order summary, about 70 bytes long..\r\n"
    * 100
)


class Sink:
    async def handle_DATA(self, server, session, envelope) -> str:
        return "250 OK"


def serve(port: int, ready) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def drain(send, n: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await send(RAW, "orders@example.com", ["rep@example.com"])

    await asyncio.gather(*(one() for _ in range(n)))


async def measure(mode: str, port: int, n: int, concurrency: int) -> tuple[float, float]:
    """(CPU ms per message, wall s) for one run of n sends."""
    sender = SmtpSender("127.0.0.1", port)
    if mode == "per-message":

        async def send(raw, from_, to):  # the sender before the pool
            await aiosmtplib.send(
                raw,
                sender=from_,
                recipients=to,
                hostname="127.0.0.1",
                port=port,
                use_tls=False,
                start_tls=False,
                timeout=30.0,
            )
    else:
        send = sender.send
    cpu, wall = time.process_time(), time.perf_counter()
    await drain(send, n, concurrency)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await sender.close()
    return cpu * 1000 / n, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    port, ready = free_port(), multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    try:
        for mode in ("per-message", "pooled"):
            results = [asyncio.run(measure(mode, port, args.n, args.concurrency)) for _ in range(args.runs)]
            cpu = statistics.median(r[0] for r in results)
            wall = statistics.median(r[1] for r in results)
            print(
                f"{mode:12s} {args.n} sends: CPU {cpu:.2f} ms/message (median of {args.runs}), "
                f"wall {wall:.2f} s ({args.n / wall:.0f} msg/s)"
            )
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
