"""The same operations through the SDK's asyncio client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from azure.servicebus import ServiceBusMessage, ServiceBusSubQueue
from azure.servicebus.aio import ServiceBusClient

from tests.fixtures.servicebus import RunningEmulator

pytestmark = pytest.mark.integration


async def _roundtrip(connection_string: str) -> list[tuple[str, int | None, object]]:
    async with ServiceBusClient.from_connection_string(connection_string) as client:
        async with client.get_queue_sender("async-roundtrip") as sender:
            batch = await sender.create_message_batch()
            for i in range(3):
                batch.add_message(ServiceBusMessage(f"a{i}", application_properties={"i": i}))
            await sender.send_messages(batch)
        async with client.get_queue_receiver("async-roundtrip", max_wait_time=5) as receiver:
            got = await receiver.receive_messages(max_message_count=3, max_wait_time=5)
            for message in got:
                await receiver.complete_message(message)
    return [(str(m), m.delivery_count, (m.application_properties or {})[b"i"]) for m in got]


def test_async_batches_arrive_in_order_with_their_properties(sb: RunningEmulator) -> None:
    assert asyncio.run(_roundtrip(sb.connection_string)) == [(f"a{i}", 0, i) for i in range(3)]


async def _settle_every_way(connection_string: str) -> dict[str, object]:
    async with ServiceBusClient.from_connection_string(connection_string) as client:
        async with client.get_queue_sender("async-settle") as sender:
            await sender.send_messages([ServiceBusMessage(name) for name in ("abandon", "dead", "defer")])
        async with client.get_queue_receiver("async-settle", max_wait_time=5) as receiver:
            got = {str(m): m for m in await receiver.receive_messages(max_message_count=3, max_wait_time=5)}
            await receiver.abandon_message(got["abandon"])
            await receiver.dead_letter_message(got["dead"], reason="Why", error_description="Because")
            await receiver.defer_message(got["defer"])
            [again] = await receiver.receive_messages(max_message_count=1, max_wait_time=5)
            await receiver.renew_message_lock(again)
            await receiver.complete_message(again)
            deferred_number = got["defer"].sequence_number
            assert deferred_number is not None
            [deferred] = await receiver.receive_deferred_messages([deferred_number])
            await receiver.complete_message(deferred)
        async with client.get_queue_receiver(
            "async-settle", sub_queue=ServiceBusSubQueue.DEAD_LETTER, max_wait_time=5
        ) as receiver:
            [dead] = await receiver.receive_messages(max_message_count=1, max_wait_time=5)
            await receiver.complete_message(dead)
    return {
        "again": (str(again), again.delivery_count),
        "deferred": str(deferred),
        "dead": (str(dead), dead.dead_letter_reason, dead.dead_letter_error_description),
    }


def test_async_abandon_dead_letter_defer_and_renew_behave_as_in_azure(sb: RunningEmulator) -> None:
    assert asyncio.run(_settle_every_way(sb.connection_string)) == {
        "again": ("abandon", 1),
        "deferred": "defer",
        "dead": ("dead", "Why", "Because"),
    }


async def _schedule(connection_string: str) -> tuple[list[str], bool, list[datetime]]:
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    async with ServiceBusClient.from_connection_string(connection_string) as client:
        async with client.get_queue_sender("async-schedule") as sender:
            [keep] = await sender.schedule_messages(ServiceBusMessage("kept"), due)
            [drop] = await sender.schedule_messages(ServiceBusMessage("cancelled"), due)
            await sender.cancel_scheduled_messages(drop)
        async with client.get_queue_receiver("async-schedule", max_wait_time=5) as receiver:
            got = await receiver.receive_messages(max_message_count=1, max_wait_time=5)
            arrived = [datetime.now(UTC)]
            for message in got:
                await receiver.complete_message(message)
            rest = await receiver.receive_messages(max_message_count=1, max_wait_time=0.5)
    return [str(m) for m in got], rest == [] and keep != drop, [a for a in arrived if a < due]


def test_async_scheduled_messages_arrive_on_time_and_cancelled_ones_never(sb: RunningEmulator) -> None:
    delivered, nothing_else, early = asyncio.run(_schedule(sb.connection_string))
    assert delivered == ["kept"]
    assert nothing_else
    assert early == []
