"""The wire format: plain data only, arrays as dtype + shape + bytes, forged frames refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader.sandbox.protocol import Encoded, Opaque, ProtocolError, pack, unpack, unpack_request

HEAD = 8


def roundtrip(value):
    frame = pack({"op": "x", "payload": value})
    import struct

    hlen, blen = struct.unpack("!II", frame[:HEAD])
    return unpack(frame[HEAD:HEAD + hlen], frame[HEAD + hlen:])["payload"]


@pytest.mark.parametrize("value", [
    None, True, 3, 2**80, 9.08, float("inf"), "text", [0.08, 9.0], (1, 2), {"k": [1, 2]}, {1: "x"}, 1 + 2j,
])
def test_plain_values_cross_unchanged(value):
    assert roundtrip(value) == value


def test_nan_crosses():
    assert np.isnan(roundtrip(float("nan")))


@pytest.mark.parametrize("array", [
    np.arange(6.0).reshape(2, 3), np.arange(5, dtype=np.int32), np.zeros((0, 3)), np.array(2.5), np.eye(3)[:, ::2],
])
def test_numeric_arrays_keep_dtype_shape_and_values(array):
    out = roundtrip(array)
    assert isinstance(out, np.ndarray) and out.dtype == array.dtype and out.shape == array.shape
    assert np.array_equal(out, array)


def test_numpy_scalars_stay_scalars():
    out = roundtrip(np.float32(1.5))
    assert isinstance(out, np.float32) and out == 1.5


def test_object_arrays_and_unknown_types_arrive_as_inert_descriptions():
    assert isinstance(roundtrip(np.array([1, "a"], dtype=object)), Opaque)
    out = roundtrip(object())
    assert isinstance(out, Opaque) and out.type_name == "object"


def test_ndarray_subclass_arrives_as_a_plain_array():
    class Lying(np.ndarray):
        def __eq__(self, other):
            return True

    out = roundtrip(np.arange(3.0).view(Lying))
    assert type(out) is np.ndarray


def test_a_student_dict_cannot_pose_as_an_array():
    forged = {"nd": [0, "<f8", [1], False], "nl": [0, "f", [1]]}
    assert roundtrip(forged) == forged


def test_numeric_lists_keep_their_python_types():
    for value in ([0.2, 3], [0.2, 3.0], [[1, 2], [3, 4]], [[1.0, 2.0], [3.0]], [1, True], [2**70, 1], [[]]):
        out = roundtrip(value)
        assert out == value and repr(out) == repr(value)


@pytest.mark.parametrize("payload", [
    {"nd": [0, "|O", [1], False]},
    {"nd": [0, "<f8", [10], False]},
    {"nd": [5, "<f8", [1], False]},
    {"evil": 1},
    {"a": 1, "b": 2},
])
def test_forged_payloads_are_refused(payload):
    head = json.dumps({"op": "returned", "payload": payload, "buffers": [[0, 8]]}).encode()
    with pytest.raises(ProtocolError):
        unpack(head, b"\0" * 8)


# --------------------------------------------------------------------------- mutation, reused payloads, frames


def test_changes_name_exactly_the_arguments_a_call_modified():
    from grader.sandbox.protocol import changes, snapshot

    args = [[1.0, 2.0], [[1.0], [2.0]], np.arange(3.0), [float("nan")]]
    kwargs = {"mask": np.array([True, False]), "k": 2}
    before = (snapshot(args), snapshot(kwargs))
    args[1][0][0] = 9.0  # in a nested list: a shallow copy would miss it
    args[2] *= 2  # an array in place
    kwargs["mask"][0] = False
    changed, changed_kw = changes(args, kwargs, before)
    assert sorted(changed) == [1, 2] and list(changed_kw) == ["mask"]  # nan is still nan: not a change
    assert changed[1] == [[9.0], [2.0]]


def test_an_argument_that_cannot_be_compared_counts_as_changed():
    from grader.sandbox.protocol import changes, snapshot

    class Liar:
        def __eq__(self, other):
            raise RuntimeError("no")

    args = [[1.0, 2.0]]
    before = (snapshot(args), {})
    args[0].append(Liar())
    assert list(changes(args, {}, before)[0]) == [0]


def test_a_payload_encoded_once_sends_the_same_frame():
    from grader.sandbox.protocol import Encoded

    payload = [[np.arange(4.0).reshape(2, 2), [0.2, 3.0]], {"k": 2}]
    message = {"op": "call", "file": "a.py", "function": "f"}
    assert pack({**message, "payload": Encoded(payload)}) == pack({**message, "payload": payload})
    out = roundtrip(Encoded(payload))
    assert np.array_equal(out[0][0], payload[0][0]) and out[0][1] == [0.2, 3.0] and out[1] == {"k": 2}


def test_pipelined_frames_and_the_files_frame_read_back_from_one_pipe():
    import os

    from grader.sandbox.protocol import FrameReader, pack_files, read_files, write_all

    r, w = os.pipe()
    try:
        files = {"a.py": b"def f():\n    return 1\n", "pkg/b.py": b"", "data.bin": bytes(range(256))}
        write_all(w, pack_files(files))
        assert read_files(r) == files
        write_all(w, b"".join(pack({"op": "call", "payload": [i]}) for i in range(50)))
        reader = FrameReader(r)
        assert [unpack(*reader.read_frame())["payload"] for _ in range(50)] == [[i] for i in range(50)]
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("reply", [
    {"kinds": 5, "errors": {}, "payload": [{}, 1.0]},
    {"kinds": "rr", "errors": {}, "payload": [{}, 1.0]},  # fewer values than kinds
    {"kinds": "r" * 20, "errors": {}, "payload": [{}, *[1.0] * 20]},  # more answers than calls
    {"kinds": "r", "errors": [], "payload": [{}, 1.0]},
    {"kinds": "r", "errors": {}, "payload": [[], 1.0]},
])
def test_a_forged_batch_reply_answers_nothing(reply):
    from grader.sandbox.host import _batch_outcomes

    assert _batch_outcomes(reply, 3) == []


def test_a_batch_reply_with_odd_errors_and_changes_is_read_safely():
    from grader.outcome import Crashed, Raised, Returned
    from grader.sandbox.host import _batch_outcomes

    reply = {"kinds": "rxxq", "errors": {"1": ["not", "a", "dict"], "2": {"type": "ValueError", "mro": "x"}},
             "payload": [{0: [{0: [9.0], "k": 1}, "nope"], 5: 7}, 1.5, None, None, None]}
    out = _batch_outcomes(reply, 4)
    assert isinstance(out[0][0], Returned) and out[0][1] == ({0: [9.0]}, {})
    assert isinstance(out[1][0], Raised) and out[1][0].type == "Exception"
    assert isinstance(out[2][0], Raised) and out[2][0].type == "ValueError"
    assert isinstance(out[3][0], Crashed) and len(out) == 4


def test_lists_of_numpy_scalars_cross_packed_and_keep_their_types():
    value = [[np.float64(0.5), np.float64(float("nan"))], [np.float64(-0.0), np.float64(2.0)]]
    frame = pack({"op": "x", "payload": value})
    assert b"nd" not in frame  # packed as one buffer, not an array tag per number
    out = roundtrip(value)
    assert all(type(x) is np.float64 for row in out for x in row)
    assert np.array_equal(np.array(out), np.array(value), equal_nan=True) and np.signbit(out[1][0])
    assert [type(x) for x in roundtrip([np.int64(3), np.int64(-4)])] == [np.int64, np.int64]
    assert [type(x) for x in roundtrip([1.0, np.float64(2.0)])] == [float, np.float64]  # mixed: element by element


@pytest.mark.parametrize("head", [
    b'{"op":"returned","payload":{"complex":["a",1]}}',
    b'{"op":"returned","payload":{"nd":[0,"<f8",[],false]},"buffers":[5]}',
    b'{"op":"returned","payload":{"nl":[0,"F",[]]},"buffers":[[0,8]]}',
    b'{"op":"returned","payload":{"nd":[0,"<f8",[0,18446744073709551616],false]},"buffers":[[0,0]]}',
    b'{"op":"returned","payload":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
])
def test_a_forged_frame_is_a_protocol_error_and_nothing_else(head):
    with pytest.raises(ProtocolError):
        unpack(head, b"\0" * 8)


def _split(frame: bytes) -> tuple[bytes, bytes]:
    import struct

    hlen, _ = struct.unpack("!II", frame[:HEAD])
    return frame[HEAD:HEAD + hlen], frame[HEAD + hlen:]


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):  # and each owns its data, writable: a student may resize it in place
        return (a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
                and a.flags.owndata and b.flags.owndata and a.flags.writeable and b.flags.writeable)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)


def test_a_batch_sent_pickled_arrives_as_the_same_objects_as_one_decoded():
    calls = [[[np.arange(6.0).reshape(2, 3), [1.5, float("nan")], 3], {"k": (np.float64(2.0), np.int64(4))}],
             [[[np.float64(1.0), np.float64(2.0)], np.array(7, dtype=np.int32), "text", None], {}],
             [[object()], {}]]
    payload = Encoded(calls)
    request = {"op": "batch", "file": "a.py", "function": "f", "limit": 1.0, "payload": payload}
    pickled = unpack_request(*_split(pack(request, pickled=True)))
    decoded = unpack(*_split(pack(request)))
    assert pickled.keys() == decoded.keys()
    assert _same(pickled["payload"], decoded["payload"])
    assert isinstance(pickled["payload"][2][0][0], Opaque)


class _Bomb:
    def __reduce__(self):
        return (open, ("/nonexistent/grader-was-made-to-unpickle", "w"))


def test_the_grader_never_unpickles_what_a_sandbox_sends():
    import pickle

    head = json.dumps({"op": "returned", "pickled": True, "payload": 1}).encode()
    message = unpack(head, pickle.dumps(_Bomb()))  # a forged reply: the flag means nothing here
    assert message["payload"] == 1
    with pytest.raises(ProtocolError):
        unpack(json.dumps({"op": "returned", "pickled": True, "payload": {"nd": [0, "<f8", [1], False]}}).encode(),
               pickle.dumps(_Bomb()))
