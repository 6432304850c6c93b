"""The SSE hub's bounds: clients per server, and pages that fall behind."""

from __future__ import annotations

from headwater.dashboard.events import QUEUE_UPDATES, EventHub, sse_message


async def test_a_page_that_falls_behind_is_ended_and_the_others_go_on() -> None:
    hub = EventHub()
    slow, fast = hub.subscribe([b"hello\n\n"]), hub.subscribe([b"hello\n\n"])
    assert slow is not None and fast is not None
    assert (await anext(slow)).endswith(b"hello\n\n")
    assert (await anext(fast)).endswith(b"hello\n\n")
    updates = [sse_message("rates", {"n": n}) for n in range(QUEUE_UPDATES + 1)]
    for update in updates:
        hub.publish(update)
        assert await anext(fast) == update
    assert [message async for message in slow] == []  # ended, nothing stale delivered
    assert hub.clients == 1


async def test_clients_are_bounded_and_places_come_back() -> None:
    hub = EventHub(max_clients=2)
    pages = [hub.subscribe([]), hub.subscribe([])]
    for page in pages:
        assert page is not None
        await anext(page)
    assert hub.subscribe([]) is None
    await pages[0].aclose()
    assert hub.subscribe([]) is not None
