"""Client edge cases against a scripted WebSocket peer on loopback: silence, garbage, retries,
dropped connections, multiplexing and event fan-out. Every wait is bounded."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from gwpeer import ScriptedPeer, challenge, handshake, hello_ok, res, wait_until
from websockets.asyncio.server import ServerConnection

from molthub_gitops.errors import (
    AuthenticationFailed,
    GatewayTimeout,
    GatewayUnavailable,
    InputError,
    ProtocolError,
    ProtocolMismatch,
)
from molthub_gitops.gateway.backoff import Backoff
from molthub_gitops.gateway.client import Event, EventSubscription, GatewayClient, display_url
from molthub_gitops.gateway.operations import observe_url

FAST = Backoff(initial=0.01, maximum=0.05, jitter=0.0)


async def _serve_forever(ws: ServerConnection) -> None:
    """After the handshake, answer every request with its method name."""
    async for text in ws:
        frame = json.loads(text)
        await ws.send(res(frame["id"], {"method": frame["method"]}))


def test_bad_urls_are_input_errors() -> None:
    for url in ("http://x", "ws://", "nonsense"):
        with pytest.raises(InputError):
            GatewayClient(url)
    assert display_url("ws://user:pw@host:1/p?token=abc") == "ws://host:1/p"


async def test_silent_server_times_out_connect() -> None:
    async def silent(ws: ServerConnection) -> None:
        await asyncio.sleep(30)

    async with ScriptedPeer(silent) as peer:
        client = GatewayClient(peer.url, token="t-123456", connect_timeout=0.3, backoff=FAST)
        started = time.monotonic()
        with pytest.raises(GatewayTimeout):
            await client.connect()
        assert time.monotonic() - started < 5
        await client.close()


async def test_garbage_before_challenge_is_a_protocol_error() -> None:
    async def garbage(ws: ServerConnection) -> None:
        await ws.send("this is not json")
        await asyncio.sleep(5)

    async with ScriptedPeer(garbage) as peer:
        client = GatewayClient(peer.url, token="t-123456", connect_timeout=2)
        with pytest.raises(ProtocolError):
            await client.connect()
        await client.close()


async def test_challenge_without_nonce_is_a_protocol_error() -> None:
    async def no_nonce(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "event", "event": "connect.challenge", "payload": {}}))
        await asyncio.sleep(5)

    async with ScriptedPeer(no_nonce) as peer:
        client = GatewayClient(peer.url, token="t-123456", connect_timeout=2)
        with pytest.raises(ProtocolError, match="nonce"):
            await client.connect()


async def test_protocol_outside_our_range_is_refused() -> None:
    async def future(ws: ServerConnection) -> None:
        await handshake(ws, protocol=7)
        await asyncio.sleep(5)

    async with ScriptedPeer(future) as peer:
        client = GatewayClient(peer.url, token="t-123456", connect_timeout=2)
        with pytest.raises(ProtocolMismatch, match="protocol 7"):
            await client.connect()


async def test_starting_gateway_is_retried_honouring_retry_after() -> None:
    """Two refusals like the real gateway while starting, then hello-ok."""
    async def starting(ws: ServerConnection) -> None:
        await ws.send(challenge())
        frame = json.loads(await ws.recv())
        if peer.connections <= 2:
            await ws.send(res(frame["id"], error={
                "code": "UNAVAILABLE", "message": "gateway starting; retry shortly",
                "retryable": True, "retryAfterMs": 200,
                "details": {"reason": "startup-sidecars"}}))
            await ws.close(1013, "gateway starting")
            return
        await ws.send(hello_ok(frame["id"]))
        await _serve_forever(ws)

    async with ScriptedPeer(starting) as peer:
        client = GatewayClient(peer.url, token="t-123456", connect_timeout=5, backoff=FAST,
                               reconnect=False)
        started = time.monotonic()
        hello = await client.connect()
        assert hello.protocol == 4
        assert peer.connections == 3
        assert time.monotonic() - started >= 0.4  # two retryAfterMs waits, not backoff's 10 ms
        await client.close()


async def test_starting_gateway_beyond_the_budget_is_unavailable() -> None:
    async def never_ready(ws: ServerConnection) -> None:
        await ws.send(challenge())
        await ws.recv()
        await ws.close(1013, "gateway starting")

    async with ScriptedPeer(never_ready) as peer:
        client = GatewayClient(peer.url, token="t-123456", connect_timeout=0.5, backoff=FAST)
        with pytest.raises(GatewayUnavailable, match="gateway starting") as info:
            await client.connect()
        assert "gave up after" in str(info.value)
        assert peer.connections >= 2


async def test_responses_are_matched_by_id_out_of_order() -> None:
    async def reversed_answers(ws: ServerConnection) -> None:
        await handshake(ws)
        first = json.loads(await ws.recv())
        second = json.loads(await ws.recv())
        await ws.send(res(second["id"], {"n": second["params"]["n"]}))
        await ws.send(res("unknown-id", {"n": -1}))  # ignored
        await ws.send(res(first["id"], {"n": first["params"]["n"]}))
        await asyncio.sleep(5)

    async with ScriptedPeer(reversed_answers) as peer, \
            GatewayClient(peer.url, token="t-123456") as client:
        a, b = await asyncio.gather(client.request("m", {"n": 1}),
                                    client.request("m", {"n": 2}))
        assert (a, b) == ({"n": 1}, {"n": 2})


async def test_request_timeout_is_typed_and_does_not_leak_pending() -> None:
    async def mute(ws: ServerConnection) -> None:
        await handshake(ws)
        async for _ in ws:
            pass

    async with ScriptedPeer(mute) as peer, GatewayClient(peer.url, token="t-123456") as client:
        with pytest.raises(GatewayTimeout, match=r"config\.get: no answer within 0\.2s"):
            await client.request("config.get", timeout=0.2)
        assert client._pending == {}


async def test_drop_fails_in_flight_requests_at_once_and_reconnects() -> None:
    async def drop_first(ws: ServerConnection) -> None:
        await handshake(ws, boot_id=f"boot-{peer.connections}")
        if peer.connections == 1:
            await ws.recv()
            raise RuntimeError("abort")  # the server handler dies: the socket is torn down
        await _serve_forever(ws)

    async with ScriptedPeer(drop_first) as peer:
        client = GatewayClient(peer.url, token="t-123456", backoff=FAST)
        await client.connect()
        with pytest.raises(GatewayUnavailable) as info:
            await client.request("config.apply", {"raw": "{}"}, timeout=10)
        assert info.value.details.get("outcome_unknown") is True
        assert "config.apply" in str(info.value)
        # the background reconnect brings it back; the next request just works
        assert await client.request("health", timeout=5) == {"method": "health"}
        assert client.connection_count == 2
        assert client.hello is not None
        assert client.hello.boot_id == "boot-2"
        await client.close()


async def test_without_reconnect_a_drop_stays_down() -> None:
    async def drop(ws: ServerConnection) -> None:
        await handshake(ws)
        await ws.close(1012, "service restart")

    async with ScriptedPeer(drop) as peer:
        client = GatewayClient(peer.url, token="t-123456", reconnect=False)
        await client.connect()
        await wait_until(lambda: not client.connected)
        with pytest.raises(GatewayUnavailable, match="1012"):
            await client.request("health")
        await client.close()


async def test_tick_watchdog_declares_a_silent_connection_dead() -> None:
    async def goes_silent(ws: ServerConnection) -> None:
        await handshake(ws, tick_ms=100, boot_id=f"boot-{peer.connections}")
        if peer.connections == 1:
            await asyncio.sleep(30)  # no ticks, no answers
        await _serve_forever(ws)

    async with ScriptedPeer(goes_silent) as peer:
        client = GatewayClient(peer.url, token="t-123456", backoff=FAST)
        await client.connect()
        pending = asyncio.create_task(client.request("health", timeout=20))
        with pytest.raises(GatewayUnavailable, match="no tick"):
            await asyncio.wait_for(pending, 5)
        await wait_until(lambda: client.connection_count >= 2 and client.connected)
        assert await client.request("health", timeout=5) == {"method": "health"}
        await client.close()


async def test_ticks_keep_a_quiet_connection_alive() -> None:
    async def ticking(ws: ServerConnection) -> None:
        await handshake(ws, tick_ms=100)
        for n in range(10):
            await ws.send(json.dumps({"type": "event", "event": "tick", "payload": {"ts": n}}))
            await asyncio.sleep(0.08)
        await _serve_forever(ws)

    async with ScriptedPeer(ticking) as peer, \
            GatewayClient(peer.url, token="t-123456") as client:
        await asyncio.sleep(0.9)
        assert client.connected
        assert client.connection_count == 1


async def test_events_fan_out_to_matching_subscriptions() -> None:
    async def events(ws: ServerConnection) -> None:
        await handshake(ws)
        go = json.loads(await ws.recv())  # wait until the client is ready
        for name, payload in [("tick", {"ts": 1}), ("config.changed", {"hash": "h2"}),
                              ("shutdown", {"reason": "gateway restarting",
                                            "restartExpectedMs": 1500})]:
            await ws.send(json.dumps({"type": "event", "event": name, "payload": payload,
                                      "seq": 1}))
        await ws.send(res(go["id"], {}))
        await _serve_forever(ws)

    async with ScriptedPeer(events) as peer:
        async with GatewayClient(peer.url, token="t-123456") as client:
            every = client.subscribe()
            async with client.subscribe("config.changed") as changed:
                await client.request("go")
                got = await changed.next(timeout=5)
                assert got.event == "config.changed"
                assert got.payload == {"hash": "h2"}
                names = [(await every.next(timeout=5)).event for _ in range(3)]
                assert names == ["tick", "config.changed", "shutdown"]
            assert changed.closed
            await wait_until(lambda: client.last_shutdown is not None)
            assert client.last_shutdown is not None
            assert client.last_shutdown.restart_expected_ms == 1500
            with pytest.raises(GatewayTimeout):
                await every.next(timeout=0.05)
        # closing the client ends the remaining subscription
        assert [e async for e in every] == []


async def test_bounded_subscription_drops_oldest() -> None:
    async def flood(ws: ServerConnection) -> None:
        await handshake(ws)
        go = json.loads(await ws.recv())
        for n in range(50):
            await ws.send(json.dumps({"type": "event", "event": "e", "payload": n}))
        await ws.send(res(go["id"], {}))
        await _serve_forever(ws)

    async with ScriptedPeer(flood) as peer, GatewayClient(peer.url, token="t-123456") as client:
        sub = client.subscribe("e", maxsize=10)
        await client.request("go")
        await client.request("sync")  # all 50 events arrived before this answer
        got = [(await sub.next(timeout=1)).payload for _ in range(10)]
        assert got == list(range(40, 50))
        assert sub.dropped == 40


async def test_close_is_idempotent_and_final() -> None:
    async def serve(ws: ServerConnection) -> None:
        await handshake(ws)
        await _serve_forever(ws)

    async with ScriptedPeer(serve) as peer:
        client = GatewayClient(peer.url, token="t-123456")
        await client.connect()
        await client.close()
        await client.close()
        assert client.closed
        assert not client.connected
        with pytest.raises(GatewayUnavailable, match="closed"):
            await client.request("health")
        with pytest.raises(GatewayUnavailable, match="closed"):
            await client.connect()


async def _raw_server(reply: bytes) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}"


@pytest.mark.parametrize(("reply", "expected", "match"), [
    (b"", GatewayUnavailable, "during the WebSocket handshake"),  # restarting gateway
    (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", GatewayUnavailable,
     "HTTP 503"),
    (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", AuthenticationFailed,
     "HTTP 401"),
    (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", ProtocolError, "not a gateway"),
])
async def test_failed_upgrades_are_typed(reply: bytes, expected: type[Exception],
                                         match: str) -> None:
    server, url = await _raw_server(reply)
    try:
        client = GatewayClient(url, token="t-123456", reconnect=False, connect_timeout=2)
        with pytest.raises(expected, match=match):
            await client.connect()
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


@pytest.mark.parametrize(("url", "shown", "reason"), [
    ("ws://[::1", "ws://[::1", "malformed host"),
    ("ws://h:99999", "ws://h:99999", "port"),
    ("ws://user:pw-secret@gw:99x/p?token=tok-secret", "ws://gw:99x/p", "port"),
    ("http://user:pw-secret@gw/?token=tok-secret", "http://gw/", "WebSocket URL"),
    ("user:pw-secret@gw", "gw", "WebSocket URL"),
])
def test_unusable_urls_are_input_errors_without_credentials(url: str, shown: str,
                                                            reason: str) -> None:
    with pytest.raises(InputError) as info:
        GatewayClient(url)
    problem = info.value.problems[0]
    assert problem.code == "gateway-url"
    assert repr(shown) in problem.message
    assert reason in problem.message
    assert "ws://host:port" in problem.hint
    assert "secret" not in str(info.value)


async def test_closing_the_client_ends_waiting_async_for_loops() -> None:
    async def serve(ws: ServerConnection) -> None:
        await handshake(ws)
        await _serve_forever(ws)

    async def drain(sub: EventSubscription) -> list[Event]:
        return [event async for event in sub]

    async with ScriptedPeer(serve) as peer:
        client = GatewayClient(peer.url, token="t-123456")
        await client.connect()
        sub = client.subscribe("never.sent")
        readers = [asyncio.create_task(drain(sub)) for _ in range(2)]
        await asyncio.sleep(0)  # both readers wait inside __anext__
        assert not any(r.done() for r in readers)
        await client.close()
        async with asyncio.timeout(5):
            assert await asyncio.gather(*readers) == [[], []]
        # a subscription taken after the close ends at once instead of waiting forever
        async with asyncio.timeout(5):
            assert await drain(client.subscribe()) == []


async def test_observe_timeout_is_one_deadline_for_every_step() -> None:
    # connecting takes 0.7s of the 1s, each answer 0.7s more: with a timeout per step the
    # observation would succeed after ~1.4s; with one deadline it must give up at 1s
    async def slow(ws: ServerConnection) -> None:
        await asyncio.sleep(0.7)
        await handshake(ws)
        async for text in ws:
            frame = json.loads(text)
            await asyncio.sleep(0.7)
            payload = {"ok": True} if frame["method"] == "health" else {"hash": "h1"}
            await ws.send(res(frame["id"], payload))

    async with ScriptedPeer(slow) as peer:
        obs = await observe_url(peer.url, token="t-123456", timeout=1.0)
        assert not obs.reachable
        assert obs.error_kind == "GatewayTimeout"
        assert obs.error == f"{peer.url}: no observation within 1s " \
            "(still waiting for config.get and health)"
        # the same peer observed with room for every step answers
        obs = await observe_url(peer.url, token="t-123456", timeout=10.0)
        assert obs.reachable, obs.error
        assert obs.config_hash == "h1"
