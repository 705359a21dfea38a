import asyncio

import pytest

from workbench.tls import ClientConfig, errors, events
from workbench.tls.enums import AlertDescription
from workbench.transport.asyncio_adapter import open_connection, start_server
from workbench.transport.tap import RecordingTap


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


async def echo(reader, writer):
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_lines_both_ways_and_a_clean_close(client_config, server_config):
    server_events, client_events = [], []

    async def scenario():
        server = await start_server(echo, "127.0.0.1", 0, server_config, on_event=server_events.append)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await open_connection("127.0.0.1", port, client_config,
                                                   on_event=client_events.append)
            handshake = writer.get_extra_info("tls_handshake")
            assert handshake.version == 0x0304 and handshake.server_name == "localhost"
            assert writer.get_extra_info("peername")[1] == port
            lines = [b"one\n", b"two\n", b"x" * 40000 + b"\n"]
            for line in lines:
                writer.write(line)
                await writer.drain()
                assert await reader.readline() == line
            writer.close()
            await writer.wait_closed()
            return await reader.read()   # our own close: the stream ends

    assert run(scenario()) == b""
    assert any(isinstance(e, events.HandshakeComplete) for e in server_events)
    assert [e.data for e in server_events if isinstance(e, events.ApplicationData)][0] == b"one\n"
    assert any(isinstance(e, events.ConnectionClosed) for e in client_events)


def test_server_close_ends_the_clients_reader(client_config, server_config):
    async def say_goodbye(reader, writer):
        writer.write(b"goodbye\n")
        writer.close()

    async def scenario():
        server = await start_server(say_goodbye, "127.0.0.1", 0, server_config)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await open_connection("127.0.0.1", port, client_config)
            data = await reader.read()
            assert reader.at_eof()
            writer.close()
            await writer.wait_closed()
            return data

    assert run(scenario()) == b"goodbye\n"


def test_handshake_failure_raises_and_the_server_reports_it(test_ca, server_config):
    failures = []
    tap = RecordingTap()

    async def scenario():
        server = await start_server(echo, "127.0.0.1", 0, server_config, on_error=failures.append)
        port = server.sockets[0].getsockname()[1]
        async with server:
            config = ClientConfig(server_name="other.example", trust_anchors=(test_ca.certificate,))
            with pytest.raises(errors.ProtocolError) as failure:
                await open_connection("127.0.0.1", port, config, tap=tap)
            for _ in range(100):
                if failures:
                    break
                await asyncio.sleep(0.01)
            return failure.value

    error = run(scenario())
    assert error.alert == AlertDescription.bad_certificate
    assert isinstance(failures[0], errors.AlertReceived) and failures[0].description == AlertDescription.bad_certificate
    # Our alert went out: the last chunk the client sent is one alert record.
    client_end = tap.chunks[0].src                  # the first chunk is our ClientHello
    last_sent = [c for c in tap.chunks if c.src == client_end][-1]
    assert last_sent.data[:1] == b"\x17" and len(last_sent.data) == 5 + 2 + 1 + 16


def test_refused_connection(client_config):
    async def scenario():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(ConnectionRefusedError):
            await open_connection("127.0.0.1", port, client_config, timeout=2)

    run(scenario())


def test_a_damaged_record_ends_the_reader_with_the_error(client_config, server_config):
    server_failures = []

    async def send_garbage(reader, writer):
        writer._session.raw_writer.write(b"\x17\x03\x03\x00\x15" + b"\x00" * 21)   # bypass the engine
        try:
            await reader.read()
        except errors.AlertReceived as exc:
            server_failures.append(exc)
        writer.close()

    async def scenario():
        server = await start_server(send_garbage, "127.0.0.1", 0, server_config)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await open_connection("127.0.0.1", port, client_config)
            with pytest.raises(errors.ProtocolError) as failure:
                await reader.read()
            writer.close()
            await writer.wait_closed()
            for _ in range(100):
                if server_failures:
                    break
                await asyncio.sleep(0.01)
            return failure.value

    assert run(scenario()).alert == AlertDescription.bad_record_mac
    assert server_failures[0].description == AlertDescription.bad_record_mac
