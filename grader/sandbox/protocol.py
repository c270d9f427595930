"""The wire between the grader and a sandbox: frames of JSON control plus raw buffers.

The grader never unpickles anything a sandbox sends (only an exercise's batch of arguments, the
grader's own values, goes the other way pickled: see Encoded.pickled). Frame: 8-byte header
(`!II`: JSON length, binary length), the JSON, then the binary buffers. A reply over its budgets
(see grader.sandbox.encoding) can only be a forgery: the trusted side checks them from the header
and the JSON's bytes before it builds anything.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import struct
import time
from typing import Any

from .encoding import (
    COMPACT,
    MAX_BODY,
    MAX_HEAD,
    MAX_HEAD_ITEMS,
    Encoded,
    ProtocolError,
    decode,
    encode,
)

MAX_FRAME = 256 * 1024 * 1024  # bytes of a request (the grader's own data, read by a sandbox)
_HEAD = struct.Struct("!II")



def pack(message: dict[str, Any], pickled: bool = False) -> bytes:
    """A control message whose `payload` key (if any) is encoded (or already an Encoded).

    A message encoded here fits a reply's budgets: the largest values of a payload over them
    become notes, and a message too large without its payload raises ProtocolError. An Encoded
    payload (the grader's own requests) is sent as it is. `pickled` (the grader's requests
    only): an Encoded payload travels as its pickle."""
    body = b""
    if "payload" in message:
        payload = message["payload"]
        if pickled and isinstance(payload, Encoded):
            body = payload.pickled()
            head = json.dumps({**{k: v for k, v in message.items() if k != "payload"}, "pickled": True},
                              separators=COMPACT)
        elif isinstance(payload, Encoded):  # encoded once: spliced in
            rest = {k: v for k, v in message.items() if k != "payload"}
            extra = ',"payload":' + payload.json
            if payload.buffers:
                extra += ',"buffers":' + payload.offsets
                body = b"".join(payload.buffers)
            head = json.dumps(rest, separators=COMPACT)
            head = head[:-1] + (extra if len(head) > 2 else extra[1:]) + "}"
        else:  # one JSON encoding for the whole message
            tagged, buffers = encode(payload)
            message = {**message, "payload": tagged}
            if buffers:
                offsets, pos = [], 0
                for b in buffers:
                    offsets.append([pos, len(b)])
                    pos += len(b)
                message["buffers"] = offsets
                body = b"".join(buffers)
            data = json.dumps(message, separators=COMPACT).encode()
            if not _fits(data):
                data = _fitted(message, type(payload) is list)
            return _HEAD.pack(len(data), len(body)) + data + body
    else:
        head = json.dumps(message, separators=COMPACT)
        if not _fits(head.encode()):
            raise ProtocolError("the message is larger than a reply may be")
    data = head.encode()
    return _HEAD.pack(len(data), len(body)) + data + body



def _items(head: bytes | bytearray) -> int:
    """An upper bound of the objects parsing this JSON builds, strings aside: every value but the
    outermost follows a `[`, `,` or `:`, and every key a `{` or `,`."""
    return head.count(b"[") + head.count(b"{") + head.count(b",") + head.count(b":")



def _fits(head: bytes | bytearray) -> bool:
    """Is this JSON within a reply's budgets? (No more items than bytes: most need no count.)"""
    return len(head) <= MAX_HEAD_ITEMS or (len(head) <= MAX_HEAD and _items(head) <= MAX_HEAD_ITEMS)



def _fitted(message: dict[str, Any], many: bool) -> bytes:
    """The JSON of a message whose encoded payload is over a reply's budgets: the payload's
    values (its elements, when it is a list) become notes, the largest first, until it fits."""
    rest = json.dumps({k: v for k, v in message.items() if k != "payload"}, separators=COMPACT).encode()
    rest = rest[:-1] + (b',"payload":' if len(rest) > 2 else b'"payload":')
    parts = message["payload"] if many else [message["payload"]]
    texts = [json.dumps(p, separators=COMPACT).encode() for p in parts]
    brackets = 2 + max(len(texts) - 1, 0) if many else 0  # "[", "]" and the commas between values
    size = len(rest) + 1 + brackets + sum(map(len, texts))
    items = _items(rest) + (brackets - 1 if many else 0) + sum(map(_items, texts))
    by_weight = sorted(range(len(texts)),
                       key=lambda i: max(len(texts[i]) / MAX_HEAD, _items(texts[i]) / MAX_HEAD_ITEMS))
    while size > MAX_HEAD or items > MAX_HEAD_ITEMS:
        if not by_weight:
            raise ProtocolError("the message is larger than a reply may be")
        i = by_weight.pop()
        note = json.dumps(_note(parts[i]), separators=COMPACT).encode()
        size += len(note) - len(texts[i])
        items += _items(note) - _items(texts[i])
        texts[i] = note
    payload = b"[" + b",".join(texts) + b"]" if many else texts[0]
    return rest + payload + b"}"



def _note(tagged: Any) -> dict[str, Any]:
    """What crosses instead of a value too large for its reply: its kind and length."""
    if type(tagged) is list or type(tagged) is str:
        return {"toolarge": [type(tagged).__name__, [len(tagged)]]}
    if type(tagged) is dict and len(tagged) == 1:
        (tag, v), = tagged.items()
        if tag in ("dict", "tuple") and type(v) is list:
            return {"toolarge": [tag, [len(v)]]}
    return {"toolarge": ["value", []]}



def unpack(head: bytes | bytearray, body: bytes | bytearray) -> dict[str, Any]:
    """Decode a reply on the trusted side, refusing anything that is not plain data or that is
    over a reply's budgets (checked before anything is built from it)."""
    if len(head) > MAX_HEAD or len(body) > MAX_BODY:
        raise ProtocolError("a frame larger than a reply may be")
    if not _fits(head):
        raise ProtocolError(f"more than {MAX_HEAD_ITEMS} JSON items")
    return _unpack(head, body)



def _unpack(head: bytes | bytearray, body: bytes | bytearray) -> dict[str, Any]:
    try:
        message = json.loads(head)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ProtocolError(f"invalid control JSON: {type(e).__name__}") from None
    if not isinstance(message, dict):
        raise ProtocolError("control message is not an object")
    offsets = message.pop("buffers", [])
    if "payload" in message:
        message["payload"] = decode(message["payload"], offsets, body)
    return message



def unpack_request(head: bytes | bytearray, body: bytes | bytearray) -> dict[str, Any]:
    """Decode a request from the grader, in the sandbox: a pickled payload is the grader's own
    (see Encoded.pickled). Never used on the grader's side, where `unpack` ignores the flag."""
    if b'"pickled":true' in head:
        message = json.loads(head)
        if message.pop("pickled", None) is True:
            message["payload"] = pickle.loads(body)
            return message
    return _unpack(head, body)



def read_exact(fd: int, n: int) -> bytes:
    """Blocking read of exactly n bytes (used in the sandbox, where blocking is fine)."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)



class FrameReader:
    """Frames from a pipe, read ahead: pipelined requests arrive in one system call."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.part: bytearray | None = None  # a large read cut short by its deadline, to go on with
        self.filled = 0

    def take(self, n: int, deadline: float | None = None) -> bytes | bytearray:
        """The next n bytes; with a deadline (time.monotonic), TimeoutError if they are not all
        there by then. More than _DIRECT bytes are read straight into a bytearray of their own,
        held once and never copied."""
        buf = self.buf
        if n > _DIRECT and len(buf) < n:
            return self._take_large(n, deadline)
        while len(buf) < n:
            self._wait(deadline)
            chunk = os.read(self.fd, min(max(n - len(buf), 1 << 16), 1 << 20))
            if not chunk:
                raise EOFError
            buf += chunk
        with memoryview(buf) as view:
            out = bytes(view[:n])
        del buf[:n]
        return out

    def _take_large(self, n: int, deadline: float | None) -> bytearray:
        out, filled, self.part = self.part, self.filled, None
        if out is None or len(out) != n:
            out = bytearray(n)
            filled = len(self.buf)
            out[:filled] = self.buf
            self.buf = bytearray()
        with memoryview(out) as view:
            while filled < n:
                try:
                    self._wait(deadline)
                except TimeoutError:
                    self.part, self.filled = out, filled  # the same take, given more time, goes on from here
                    raise
                got = os.readv(self.fd, [view[filled:]])
                if not got:
                    raise EOFError
                filled += got
        return out

    def _wait(self, deadline: float | None) -> None:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self.fd], [], [], wait)[0]:
                raise TimeoutError

    def read_frame(self) -> tuple[bytes | bytearray, bytes | bytearray]:
        hlen, blen = _HEAD.unpack(self.take(_HEAD.size))
        if hlen + blen > MAX_FRAME:
            raise ProtocolError("frame too large")
        return self.take(hlen), self.take(blen)



_DIRECT = 1 << 20



def read_frame(fd: int) -> tuple[bytes, bytes]:
    hlen, blen = _HEAD.unpack(read_exact(fd, _HEAD.size))
    if hlen + blen > MAX_FRAME:
        raise ProtocolError("frame too large")
    return read_exact(fd, hlen), read_exact(fd, blen)



def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]



def pack_files(files: dict[str, bytes]) -> bytes:
    """The submission's files as one frame: the first thing a new sandbox reads."""
    head = json.dumps({"op": "files", "files": [[name, len(data)] for name, data in files.items()]}).encode()
    body = b"".join(files.values())
    return _HEAD.pack(len(head), len(body)) + head + body



def read_files(fd: int) -> dict[str, bytes]:
    """In a new sandbox: read the files frame the grader sends first (trusted, but checked)."""
    head, body = read_frame(fd)
    message = json.loads(head)
    if not isinstance(message, dict) or message.get("op") != "files":
        raise ProtocolError("expected the submission's files first")
    files, pos = {}, 0
    for name, size in message["files"]:
        files[str(name)] = body[pos:pos + int(size)]
        pos += int(size)
    return files



HEADER_SIZE = _HEAD.size

parse_header = _HEAD.unpack
