"""The wire format: plain data only, arrays as dtype + shape + bytes, forged frames refused."""

from __future__ import annotations

import json
import os
import pickle
import struct
import threading
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.outcome import Crashed, Raised, Returned
from grader.sandbox import encoding, protocol
from grader.sandbox.encoding import Encoded, Opaque, ProtocolError, changes, snapshot
from grader.sandbox.host import _batch_outcomes
from grader.sandbox.protocol import (
    FrameReader,
    pack,
    pack_files,
    read_files,
    unpack,
    unpack_request,
    write_all,
)

HEAD = 8


def roundtrip(value):
    frame = pack({"op": "x", "payload": value})
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
    class Liar:
        def __eq__(self, other):
            raise RuntimeError("no")

    args = [[1.0, 2.0]]
    before = (snapshot(args), {})
    args[0].append(Liar())
    assert list(changes(args, {}, before)[0]) == [0]


def test_a_payload_encoded_once_sends_the_same_frame():
    payload = [[np.arange(4.0).reshape(2, 2), [0.2, 3.0]], {"k": 2}]
    message = {"op": "call", "file": "a.py", "function": "f"}
    assert pack({**message, "payload": Encoded(payload)}) == pack({**message, "payload": payload})
    out = roundtrip(Encoded(payload))
    assert np.array_equal(out[0][0], payload[0][0]) and out[0][1] == [0.2, 3.0] and out[1] == {"k": 2}


def test_pipelined_frames_and_the_files_frame_read_back_from_one_pipe():
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
    assert _batch_outcomes(reply, 3) == []


def test_a_batch_reply_with_odd_errors_and_changes_is_read_safely():
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
    head = json.dumps({"op": "returned", "pickled": True, "payload": 1}).encode()
    message = unpack(head, pickle.dumps(_Bomb()))  # a forged reply: the flag means nothing here
    assert message["payload"] == 1
    with pytest.raises(ProtocolError):
        unpack(json.dumps({"op": "returned", "pickled": True, "payload": {"nd": [0, "<f8", [1], False]}}).encode(),
               pickle.dumps(_Bomb()))


# --------------------------------------------------------------------------- budgets: generated frames
#
# What a sandbox sends is read by the grader as plain data or refused with ProtocolError, never
# anything else; what the sandbox's own encoder sends always fits a reply's budgets and arrives as
# the value it was, or as a note (Opaque) where the value could not cross.

TAGS = ["nd", "nl", "tuple", "dict", "float", "complex", "opaque", "toolarge"]
DTYPE_STRINGS = ["<f8", ">i4", "|b1", "<c16", "<f2", "|O", "<U3", "|S2", "<M8[s]", "V8", "f8,i4", "(2,)f8", "x", ""]


def _plain(x, depth=0) -> bool:
    """Data the grader may hold: JSON values, tuples, complex numbers, numeric arrays and numpy
    scalars, and notes."""
    t = type(x)
    if t in (str, int, float, bool, type(None), complex, Opaque):
        return True
    if t is np.ndarray or isinstance(x, np.generic):
        return x.dtype.kind in encoding.NUMERIC_KINDS and not x.dtype.hasobject
    if t is list or t is tuple:
        return all(_plain(v, depth + 1) for v in x)
    if t is dict:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in x.items())
    return False


def _unpack_or_refuse(head: bytes, body: bytes) -> dict | None:
    """unpack's message, checked to be plain data, or None when it refused with ProtocolError
    (any other exception fails the test)."""
    try:
        message = unpack(head, body)
    except ProtocolError:
        return None
    assert type(message) is dict and _plain(message), message
    return message


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 70), st.integers(), st.floats(), st.text(max_size=6),
                         st.sampled_from(DTYPE_STRINGS + ["nan", "inf", "-inf", "f", "i", "F", "I"]))
shapes = st.one_of(st.lists(st.integers(0, 4), max_size=3), st.lists(st.integers(-2, 2**64), max_size=4),
                   st.lists(st.integers(1, 2), min_size=20, max_size=40), json_scalars)
array_tags = st.builds(lambda i, dtype, shape, scalar: {"nd": [i, dtype, shape, scalar]},
                       st.integers(-1, 3) | json_scalars, st.sampled_from(DTYPE_STRINGS) | json_scalars, shapes,
                       st.booleans() | json_scalars)
list_tags = st.builds(lambda i, code, shape: {"nl": [i, code, shape]}, st.integers(-1, 3),
                      st.sampled_from(["f", "i", "F", "I", "x"]) | json_scalars, shapes)


def _tagged(inner):
    return st.builds(lambda tag, v: {tag: v}, st.sampled_from(TAGS), st.one_of(inner, st.lists(inner, max_size=4)))


json_trees = st.recursive(
    st.one_of(json_scalars, array_tags, list_tags),
    lambda inner: st.one_of(st.lists(inner, max_size=5), _tagged(inner),
                            st.dictionaries(st.sampled_from(TAGS) | st.text(max_size=4), inner, max_size=3),
                            st.lists(st.lists(inner, min_size=2, max_size=2), max_size=4).map(lambda kv: {"dict": kv})),
    max_leaves=30)
buffer_tables = st.one_of(
    st.lists(st.one_of(st.lists(st.integers(-4, 80), min_size=2, max_size=2), json_scalars), max_size=4), json_scalars)
bodies = st.binary(max_size=80)


@settings(max_examples=300, deadline=None)
@given(head=st.binary(max_size=300), body=bodies)
@example(head=b'\x00{\x00}', body=b"")  # bytes that json reads as UTF-16
def test_random_bytes_are_plain_data_or_a_protocol_error(head, body):
    _unpack_or_refuse(head, body)


@settings(max_examples=500, deadline=None)
@given(payload=json_trees, table=buffer_tables, body=bodies,
       extra=st.dictionaries(st.text(max_size=5), json_scalars, max_size=2))
@example(payload={"dict": [[[1], 0]]}, table=[], body=b"", extra={})  # an unhashable key
@example(payload={"complex": ["1", 2.0]}, table=[], body=b"", extra={})
@example(payload={"nd": [0, {"names": ["a"], "formats": ["<f8"]}, [1], False]}, table=[[0, 8]], body=bytes(8), extra={})
@example(payload={"nl": [0, "f", [2**40, 0]]}, table=[[0, 0]], body=b"", extra={})  # a million empty rows
@example(payload=[{"nd": [0, "<f8", [1], False]}, {"nd": [0, "<f8", [1], False]}], table=[[0, 8]], body=bytes(8),
         extra={})  # one buffer, two arrays
@example(payload={"toolarge": ["x", [[[]]]]}, table=[], body=b"", extra={})
def test_random_json_messages_are_plain_data_or_a_protocol_error(payload, table, body, extra):
    message = {"op": "returned", **extra, "payload": payload, "buffers": table}
    _unpack_or_refuse(json.dumps(message).encode(), body)
    try:
        out = encoding.decode(payload, table, body)
    except ProtocolError:
        return
    assert _plain(out), out


# The values a student may return (or a call may leave in its arguments), sent as they are ...
numeric_dtypes = st.sampled_from(["<f8", "<f4", "<f2", ">f8", "<i8", "|u1", "<i2", ">i4", "|b1", "<c16", "<c8", "<g"])
arrays = hnp.arrays(numeric_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
numpy_scalars = hnp.arrays(numeric_dtypes, ()).map(lambda a: a[()])
rectangular = st.one_of(  # the lists the encoder packs into raw bytes
    hnp.arrays("<f8", hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)).map(lambda a: a.tolist()),
    hnp.arrays("<i8", hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5)).map(lambda a: a.tolist()),
    hnp.arrays("<f8", st.integers(1, 6)).map(list), hnp.arrays("<i8", st.integers(1, 6)).map(list))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70), st.floats(),
                    st.complex_numbers(), st.text(max_size=8), st.sampled_from(["", "\ud800", ",[{:", "\U0001f600"]))
# ... and values that cross as notes: objects, other types, ints too long for JSON
noted = st.one_of(st.builds(object), st.frozensets(st.integers(), max_size=3), st.binary(max_size=4),
                  st.integers(4001, 4100).map(lambda digits: -(10**digits)), st.just(np.array(["text"])))
keys = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=6),
                 st.tuples(st.integers(), st.text(max_size=3)), st.frozensets(st.integers(), max_size=2))
legit_values = st.recursive(
    st.one_of(scalars, arrays, numpy_scalars, rectangular, noted),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.lists(inner, max_size=4).map(tuple),
                            st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25)


def _agrees(got, want) -> bool:
    """`got` is `want` as it crossed: type for type and value for value (arrays bit for bit),
    except where a note (Opaque) stands for a value that could not be sent as it was."""
    if isinstance(got, Opaque):
        return True
    t = type(want)
    if type(got) is not t:
        return False
    if t is np.ndarray or isinstance(want, np.generic):
        if got.dtype != want.dtype or got.shape != want.shape:
            return False
        if want.dtype in (np.longdouble, np.clongdouble):  # bytes of padding, never read
            return bool(np.array_equal(got, want, equal_nan=True))
        return got.tobytes() == want.tobytes()
    if t is float:
        return got == want or (got != got and want != want)
    if t is complex:
        return _agrees(got.real, want.real) and _agrees(got.imag, want.imag)
    if t is str:
        return got == want[:encoding.MAX_TEXT]
    if t is list or t is tuple:
        return len(got) == len(want) and all(_agrees(g, w) for g, w in zip(got, want, strict=True))
    if t is dict:
        if len(got) != len(want):  # keys that became equal notes
            return not encoding.sent_as_is(want)
        return all(_agrees(gk, wk) and _agrees(gv, wv)
                   for (gk, gv), (wk, wv) in zip(got.items(), want.items(), strict=True))
    return got == want


def _notes(x) -> int:
    if isinstance(x, Opaque):
        return 1
    if type(x) in (list, tuple):
        return sum(map(_notes, x))
    if type(x) is dict:
        return sum(_notes(k) + _notes(v) for k, v in x.items())
    return 0


def _within_budgets(frame: bytes) -> tuple[bytes, bytes]:
    hlen, blen = struct.unpack("!II", frame[:HEAD])
    head, body = frame[HEAD:HEAD + hlen], frame[HEAD + hlen:]
    assert len(body) == blen and hlen <= protocol.MAX_HEAD and blen <= protocol.MAX_BODY
    assert protocol._items(head) <= protocol.MAX_HEAD_ITEMS
    return head, body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=legit_values)
@example(value={2**61 - 1: 1, 2 * (2**61 - 1): 2})  # two keys with one hash: sent as they are
@example(value=[[1.0], [2.0]])
@example(value={frozenset({1}): 2})  # a key that crosses as a note
def test_a_legit_value_crosses_as_it_is_or_as_a_note(value):
    head, body = _within_budgets(pack({"op": "returned", "payload": [value, {}, {}]}))
    got = unpack(head, body)["payload"][0]
    assert _agrees(got, value), (got, value)
    if encoding.sent_as_is(value):
        assert _notes(got) == 0, got


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(legit_values, max_size=6), head_bytes=st.integers(400, 4000), items=st.integers(60, 400),
       body_bytes=st.integers(0, 200), list_items=st.integers(0, 20), per_value=st.integers(1, 30))
def test_under_any_budgets_a_reply_fits_and_its_values_cross_as_they_are_or_as_notes(
        values, head_bytes, items, body_bytes, list_items, per_value):
    budgets = {"MAX_HEAD": head_bytes, "MAX_HEAD_ITEMS": items, "MAX_BODY": body_bytes,
               "MAX_LIST_ITEMS": list_items, "MAX_ITEMS": per_value}
    framing = {k: v for k, v in budgets.items() if k in ("MAX_HEAD", "MAX_HEAD_ITEMS", "MAX_BODY")}
    with mock.patch.multiple(encoding, **budgets), mock.patch.multiple(protocol, **framing):
        head, body = _within_budgets(pack({"op": "returned", "payload": values}))
        got = unpack(head, body)["payload"]
    assert len(got) == len(values)
    for g, v in zip(got, values, strict=True):
        assert _agrees(g, v), (g, v)


def _leaves(x, path=()):
    """The paths to every scalar of a JSON tree."""
    if type(x) is list:
        for i, v in enumerate(x):
            yield from _leaves(v, (*path, i))
    elif type(x) is dict:
        for k, v in x.items():
            yield from _leaves(v, (*path, k))
    else:
        yield path


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=legit_values, data=st.data())
@example(value=np.arange(3.0), data=None)
def test_a_valid_reply_with_any_part_changed_is_plain_data_or_a_protocol_error(value, data):
    head, body = _within_budgets(pack({"op": "returned", "payload": [value, {}, {}]}))
    if data is None:  # the array's buffer said to be longer than the body
        head = head.replace(b',"buffers":[[0,24]]', b',"buffers":[[0,32]]')
        assert _unpack_or_refuse(head, body) is None
        return
    message = json.loads(head)
    paths = list(_leaves(message))
    path = data.draw(st.sampled_from(paths))
    node = message
    for step in path[:-1]:
        node = node[step]
    if path:
        node[path[-1]] = data.draw(st.one_of(json_scalars, json_trees, shapes))
    cut = data.draw(st.integers(0, len(body)))
    _unpack_or_refuse(json.dumps(message).encode(), data.draw(st.sampled_from([body, body[:cut], body + bytes(cut)])))


UNITS = [b"[]", b"{}", b"0", b'""', b"[[]]", b'{"dict":[]}', b"[0,0]"]


@settings(max_examples=40, deadline=None)
@given(unit=st.sampled_from(UNITS), extra=st.integers(1, 3 * protocol.MAX_HEAD_ITEMS))
def test_a_reply_over_the_item_budget_is_refused_before_it_is_parsed(unit, extra):
    n = protocol.MAX_HEAD_ITEMS // protocol._items(unit + b",") + extra
    head = b'{"op":"returned","payload":[' + unit + (b"," + unit) * (n - 1) + b"]}"
    with mock.patch.object(protocol.json, "loads", side_effect=AssertionError("parsed")):
        with pytest.raises(ProtocolError):
            unpack(head, b"")


def test_a_reply_over_the_byte_budgets_is_refused_before_it_is_parsed():
    with mock.patch.object(protocol.json, "loads", side_effect=AssertionError("parsed")):
        with pytest.raises(ProtocolError):
            unpack(b'{"op":"returned","payload":"' + b"a" * protocol.MAX_HEAD + b'"}', b"")
        with pytest.raises(ProtocolError):
            unpack(b'{"op":"returned"}', bytes(protocol.MAX_BODY + 1))


# --------------------------------------------------------------------------- budgets: the encoder's side


def test_values_too_large_for_one_reply_become_notes_the_largest_first():
    text = "[" * encoding.MAX_TEXT  # a string of the most JSON items a character
    payload = [1.5, *[text] * 5, "small"]
    head, body = _within_budgets(pack({"op": "batched", "payload": payload}))
    got = unpack(head, body)["payload"]
    assert got[0] == 1.5 and got[-1] == "small"
    notes = [g for g in got[1:-1] if isinstance(g, Opaque)]
    assert notes and all(n.type_name == "oversized str" and n.text == f"shape [{encoding.MAX_TEXT}]" for n in notes)
    assert all(g == text for g in got[1:-1] if not isinstance(g, Opaque))


def test_one_value_too_large_for_a_reply_is_a_note_and_the_rest_of_the_message_stays():
    value = {str(i): "," * 20 for i in range(20_000)}  # 20,000 entries of 23 JSON items each
    head, body = _within_budgets(pack({"op": "returned", "error": {"type": "E"}, "payload": value}))
    message = unpack(head, body)
    assert message["error"] == {"type": "E"}
    assert message["payload"] == Opaque("oversized dict", "shape [20000]")


def test_a_message_too_large_without_its_payload_cannot_be_packed():
    with pytest.raises(ProtocolError):
        pack({"op": "raised", "error": {"mro": ["E" * 1000] * 5000}})
    with pytest.raises(ProtocolError):
        pack({"op": "raised", "error": {"mro": ["E" * 1000] * 5000}, "payload": [None, {}, {}]})


def test_the_encoders_own_limits_make_notes_not_forgeries():
    crowded = {i * (2**61 - 1): i for i in range(1, encoding.MAX_SAME_HASH + 2)}  # every key with one hash
    fine = dict(list(crowded.items())[:encoding.MAX_SAME_HASH])
    longest = [0.5] * encoding.MAX_LIST_ITEMS
    got = roundtrip([crowded, fine, 10**4001, longest, [*longest, 0.5], {frozenset({1}): 2}])
    assert isinstance(got[0], Opaque) and got[1] == fine
    assert got[2] == Opaque("int", f"an integer of {(10**4001).bit_length()} bits")
    assert got[3] == longest and isinstance(got[4], Opaque)  # one number too many: over MAX_ITEMS as JSON
    assert got[5] == {Opaque("frozenset", "frozenset({1})"): 2}


@pytest.mark.parametrize("forged", [
    # more distinct keys with one hash than any dict the encoder sends: refused, not hashed for minutes
    {"dict": [[i * (2**61 - 1), 0] for i in range(1, 70_000)]},
    # more packed numbers and rows than any reply the encoder sends
    {"nl": [0, "f", [encoding.MAX_LIST_ITEMS // 2 + 1, 1, 1]]},
    # a thousand arrays made of one buffer: the encoder sends each buffer once
    [{"nd": [0, "<f8", [encoding.MAX_LIST_ITEMS // 2 + 1], False]}] * 1000,
])
def test_a_forged_payload_over_the_decoders_budgets_is_refused(forged):
    body = bytes(8 * (encoding.MAX_LIST_ITEMS // 2 + 1))
    head = json.dumps({"op": "returned", "payload": forged, "buffers": [[0, len(body)]]}).encode()
    with pytest.raises(ProtocolError):
        unpack(head, body)


def test_a_large_frame_part_read_in_pieces_past_a_deadline_goes_on_where_it_stopped():
    r, w = os.pipe()
    try:
        data = bytes(range(256)) * (3 * 4096 + 7)  # over 1 MB: read straight into its own buffer
        reader = FrameReader(r)
        os.set_blocking(w, False)
        sent = os.write(w, data[:40_000])
        with pytest.raises(TimeoutError):
            reader.take(len(data), deadline=0.0)
        os.set_blocking(w, True)
        writer = threading.Thread(target=write_all, args=(w, data[sent:] + b"next"))
        writer.start()
        got = reader.take(len(data), deadline=None)
        writer.join()
        assert bytes(got) == data and reader.take(4) == b"next"
    finally:
        os.close(r)
        os.close(w)
