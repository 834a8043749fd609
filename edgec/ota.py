"""The host side of model updates over the air: ``edgec push MODEL.bin --port PORT`` sends a
model image (``edgec package``) to a ``--model-partition`` firmware over SMP, MCUmgr's
protocol, with the maintained ``smpclient`` (an optional extra: ``pip install edgec[ota]``).

The firmware's model group (``zephyr_app/src/smp.c.j2``, docs/OTA.md) is group 64, command
0: a write carries ``off``, ``data`` and, with ``off`` 0, ``len`` (the image size) and answers
``off`` (the offset it expects next) and ``rc`` (0, a negative errno, or the negative
``NAME_IMAGE_*`` code of a refused image); a read answers the running ``slot``, ``seq`` and
``sha`` (the model's sha256).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from edgec.errors import EdgecError

GROUP = 64  # MGMT_GROUP_ID_PERUSER
CHUNK = 128  # image bytes per request: fits the firmware's 1 KiB SMP buffer with room
IMAGE_CODES = {-1: "bad header", -2: "wrong size for this firmware",
               -3: "built for other kernels (layout hash differs)", -4: "constants damaged"}


@dataclass
class DeviceModel:
    """What the device runs: its slot (-1: none), sequence number and model sha256."""

    slot: int
    sequence: int
    model_sha256: str


def _messages():
    """The request and response classes of the model group (smpclient is imported only when
    a command needs it)."""
    try:
        from smp import error as smperr
        from smp import message as smpmsg
    except ImportError as exc:
        raise EdgecError("edgec push needs the smpclient package",
                         "pip install 'edgec[ota]'") from exc

    class ErrorV1(smperr.ErrorV1):
        _GROUP_ID = GROUP

    class ErrorV2(smperr.ErrorV2[smperr.MGMT_ERR]):
        _GROUP_ID = GROUP

    class UploadResponse(smpmsg.WriteResponse):
        _GROUP_ID = GROUP
        _COMMAND_ID = 0
        off: int
        rc: int

    class Upload(smpmsg.WriteRequest):
        _GROUP_ID = GROUP
        _COMMAND_ID = 0
        _Response = UploadResponse
        _ErrorV1 = ErrorV1
        _ErrorV2 = ErrorV2
        off: int
        data: bytes
        len: int | None = None

    class StateResponse(smpmsg.ReadResponse):
        _GROUP_ID = GROUP
        _COMMAND_ID = 0
        slot: int
        seq: int
        sha: bytes | None = None

    class State(smpmsg.ReadRequest):
        _GROUP_ID = GROUP
        _COMMAND_ID = 0
        _Response = StateResponse
        _ErrorV1 = ErrorV1
        _ErrorV2 = ErrorV2

    return Upload, State


async def _session(port: str, timeout: float, work):
    from smpclient import SMPClient
    from smpclient.transport.serial import SMPSerialTransport

    client = SMPClient(SMPSerialTransport(), port, timeout_s=timeout)
    try:
        await client.connect(timeout)
    except Exception as exc:  # serial errors of every kind: the port is the user's
        raise EdgecError(f"cannot open SMP port {port}: {exc}",
                         "give the device's mcumgr UART with --port") from exc
    try:
        return await work(client)
    finally:
        await client.disconnect()


def _checked(response, what: str):
    from smpclient.generics import error

    if error(response):
        raise EdgecError(f"the device refused {what}: {response}",
                         "is the firmware built with --model-partition?")
    return response


async def _device_state(client, State, timeout: float) -> DeviceModel:
    r = _checked(await client.request(State(), timeout), "the model state request")
    return DeviceModel(r.slot, r.seq, r.sha.hex() if r.sha else "")


def device_model(port: str, timeout: float = 5.0) -> DeviceModel:
    """Ask the device which model it runs."""
    _, State = _messages()
    return asyncio.run(_session(port, timeout,
                                lambda client: _device_state(client, State, timeout)))


def push(image: bytes, port: str, timeout: float = 5.0, progress=None,
         limit: int | None = None) -> DeviceModel:
    """Send ``image`` in chunks; the device checks it after the last one and switches to it.
    ``limit``: stop after that many bytes (tests: an interrupted upload). Returns what the
    device runs afterwards."""
    Upload, State = _messages()

    async def work(client):
        off = 0
        end = len(image) if limit is None else min(limit, len(image))
        while off < end:
            chunk = image[off:off + min(CHUNK, end - off)]
            request = Upload(off=off, data=chunk, len=len(image) if off == 0 else None)
            r = _checked(await client.request(request, timeout), f"chunk at offset {off}")
            if r.rc != 0:
                reason = IMAGE_CODES.get(r.rc, f"error {r.rc}")
                raise EdgecError(f"the device refused the model image: {reason}",
                                 "the running model stays; package the model with "
                                 "`edgec package --like` the firmware's model folder")
            if r.off != off + len(chunk):
                raise EdgecError(f"the device expects offset {r.off}, not {off + len(chunk)}")
            off = r.off
            if progress:
                progress(off, len(image))
        return await _device_state(client, State, timeout)

    return asyncio.run(_session(port, timeout, work))
