"""Driving Airflow's own ``TriggerRunner`` in a test: its triggers run until a condition holds, then stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def run_until(runner: Any, done: Callable[[], bool], seconds: float, what: Callable[[], str]) -> None:
    """Let ``runner``'s created triggers run until ``done()`` (polled; a trigger failing fails at once, and
    ``seconds`` bound the wait, failing with ``what()``); then cancel them all and wait for them to end."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    try:
        while not done():
            assert loop.time() < end, what()
            assert not runner.failed_triggers, runner.failed_triggers
            await asyncio.sleep(0.02)
    finally:
        tasks = [details["task"] for details in runner.triggers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
