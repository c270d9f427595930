"""Values between the grader and a sandbox: tagged JSON plus raw numeric buffers.

Every JSON object of an encoded value is a one-key tag (`dict`, `tuple`, `nd`, ...), so a
student's own dict can never pose as an array or a control message. The sandbox encodes within
a reply's budgets (MAX_HEAD, MAX_HEAD_ITEMS, MAX_BODY, MAX_LIST_ITEMS), turning what would not
fit into notes; the trusted side decodes with limits (depth, sizes, dtypes) and refuses anything
else. Also here: snapshots of a call's arguments, to tell whether the call changed them.
"""

from __future__ import annotations

import itertools
import json
import math
import pickle
from collections import Counter
from typing import Any

import numpy as np

# A reply, as the grader reads it: each budget bounds what parsing and decoding it can build.
MAX_HEAD = 4 * 1024 * 1024  # bytes of its JSON

MAX_HEAD_ITEMS = 250_000  # `[`, `{`, `,` and `:` in its JSON: at most one new object each, strings aside

MAX_BODY = 32 * 1024 * 1024  # bytes of its numeric buffers

MAX_LIST_ITEMS = 500_000  # numbers and inner lists of the packed numeric lists (`nl`) in it

MAX_DEPTH = 64

MAX_ITEMS = 50_000  # elements of nested Python containers in one value (numeric arrays and lists are packed)

NUMERIC_KINDS = "biufc"

MAX_TEXT = 100_000  # characters of one string; the rest is cut

MAX_INT = 10**4000  # larger ints cross as a note: JSON (int_max_str_digits, 4300) refuses them

MAX_SAME_HASH = 64  # distinct keys of one dict that share one hash: more would cost quadratic time

COMPACT = (",", ":")  # JSON separators



class ProtocolError(Exception):
    """A frame or payload that does not follow the format (a bug, or a hostile sandbox)."""



class Opaque:
    """A value of a type that cannot cross the boundary: its type name and a short repr."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)

    def __hash__(self) -> int:  # a student's dict may have it as a key
        return hash((self.type_name, self.text))



def encode(obj: Any) -> tuple[Any, list[bytes]]:
    """Turn a value into JSON-able tags plus raw buffers. Unknown types become `opaque`."""
    buffers: list[bytes] = []
    total = [0]  # bytes in buffers (MAX_BODY)
    listed = [0]  # numbers and inner lists packed as `nl` (MAX_LIST_ITEMS)
    count = [0]

    def arr(a: np.ndarray, scalar: bool) -> Any:
        if a.dtype.kind not in NUMERIC_KINDS or a.dtype.hasobject:
            return {"opaque": [f"numpy array of dtype {a.dtype}", f"shape {a.shape}"]}
        if a.nbytes + total[0] > MAX_BODY:
            return {"toolarge": [str(a.dtype), list(a.shape)]}
        data = a.tobytes(order="C")  # keeps 0-d arrays 0-d (ascontiguousarray would not)
        total[0] += len(data)
        buffers.append(data)
        return {"nd": [len(buffers) - 1, a.dtype.str, list(a.shape), scalar]}

    def integer(x: int) -> Any:
        return x if -MAX_INT < x < MAX_INT else {"opaque": ["int", f"an integer of {x.bit_length()} bits"]}

    def mapping(x: dict, depth: int) -> Any:
        if len(x) > MAX_SAME_HASH and _crowded(x):
            return {"opaque": ["dict", f"{len(x)} keys, too many of them with one hash"]}
        return {"dict": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in list(x.items())]}

    def enc(x: Any, depth: int) -> Any:
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
            raise _TooLarge
        t = type(x)
        if t is float:  # the common exact types first; subclasses take the careful path below
            return x if math.isfinite(x) else {"float": repr(x)}
        if t is int:
            return x if -MAX_INT < x < MAX_INT else integer(x)
        if x is None or x is True or x is False:
            return x
        if t is np.ndarray:
            return arr(x, False)
        if t is str:
            return x[:MAX_TEXT]
        if t is list:
            packed = _pack_numeric_list(x, MAX_BODY - total[0], MAX_LIST_ITEMS - listed[0])
            if packed is not None:
                data, code, shape, cost = packed
                total[0] += len(data)
                listed[0] += cost
                buffers.append(data)
                return {"nl": [len(buffers) - 1, code, shape]}
            return [enc(v, depth + 1) for v in x]
        if t is dict:
            return mapping(x, depth)
        if isinstance(x, np.ndarray):
            return arr(np.asarray(x), False)
        if isinstance(x, np.generic):
            return arr(np.asarray(x), True)
        if isinstance(x, bool):
            return bool(x)
        if isinstance(x, int):
            return integer(int(x))
        if isinstance(x, float):
            v = float(x)
            return v if math.isfinite(v) else {"float": repr(v)}
        if isinstance(x, complex):
            c = complex(x)  # a subclass's own `real` and `imag` could be anything
            return {"complex": [enc(c.real, depth + 1), enc(c.imag, depth + 1)]}
        if isinstance(x, str):
            return str(x)[:MAX_TEXT]
        if isinstance(x, list):
            return [enc(v, depth + 1) for v in list(x)]
        if isinstance(x, tuple):
            return {"tuple": [enc(v, depth + 1) for v in tuple(x)]}
        if isinstance(x, dict):
            return mapping(dict(x), depth)
        try:
            text = repr(x)[:200]
        except BaseException:  # a hostile __repr__
            text = "?"
        return {"opaque": [type(x).__qualname__, text]}

    def top(x: Any) -> Any:
        count[0] = 0
        mark = len(buffers)
        used = total[0], listed[0]
        try:
            return enc(x, 1)
        except _TooLarge:  # the whole value is replaced by a note: a million tiny lists cost nothing to send
            del buffers[mark:]
            total[0], listed[0] = used
            return {"toolarge": ["nested structure", [MAX_ITEMS]]}
        except Exception:  # an object that defeats encoding (a hostile subclass): this value alone is lost
            del buffers[mark:]
            total[0], listed[0] = used
            try:
                name = str(type(x).__qualname__)[:100]
            except Exception:
                name = "object"
            return {"opaque": [name, "(could not be sent)"]}

    # each element of a message's payload (result, arguments) has its own budget
    tagged = [top(x) for x in obj] if type(obj) is list else top(obj)
    return tagged, buffers



def _crowded(x: dict) -> bool:
    """Do more than MAX_SAME_HASH keys of the dict share one hash (a dict that costs quadratic time)?"""
    hashes = [hash(k) for k in x]
    if len(set(hashes)) == len(hashes):
        return False
    return max(Counter(hashes).values()) > MAX_SAME_HASH



_BY_VALUE_SCALARS = frozenset({float, bool, complex, type(None)})



def sent_as_is(x: Any, depth: int = 0) -> bool:
    """Does `encode` send `x` by its value alone: plain numbers, text within MAX_TEXT, numeric
    arrays and numpy scalars, and lists, tuples and dicts of them? Anything else crosses as a note
    (its type and repr, or a cut), which two different values can share."""
    if depth > MAX_DEPTH:
        return False
    t = type(x)
    if t in _BY_VALUE_SCALARS:
        return True
    if t is int:
        return -MAX_INT < x < MAX_INT
    if t is np.ndarray or isinstance(x, np.generic):
        return x.dtype.kind in NUMERIC_KINDS and not x.dtype.hasobject
    if t is str:
        return len(x) <= MAX_TEXT
    if t is list or t is tuple:
        return all(sent_as_is(v, depth + 1) for v in x)
    if t is dict:
        return (not (len(x) > MAX_SAME_HASH and _crowded(x))
                and all(sent_as_is(k, depth + 1) and sent_as_is(v, depth + 1) for k, v in x.items()))
    return False



class _TooLarge(Exception):
    pass



def _shape_of(x: list, kind: type) -> list[int] | None:
    """The shape of a rectangular nested list whose leaves are all exactly `kind`, else None."""
    if not x:
        return None
    if type(x[0]) is list:
        inner = _shape_of(x[0], kind)
        if inner is None:
            return None
        for v in x[1:]:
            if type(v) is not list or _shape_of(v, kind) != inner:
                return None
        return [len(x), *inner]
    for v in x:
        if type(v) is not kind:
            return None
    return [len(x)]



def _list_cost(shape: list[int]) -> int:
    """The objects a packed list of this shape decodes to: its numbers and its inner lists."""
    cost, rows = 0, 1
    for n in shape:
        rows *= n
        cost += rows
    return cost



def _pack_numeric_list(x: list, room: int, list_room: int) -> tuple[bytes, str, list[int], int] | None:
    """A (nested) list of only floats or only ints as raw bytes, far cheaper than JSON both ways,
    with its `_list_cost`; None if it is not one or if it would take more than `room` bytes or
    `list_room` objects."""
    leaf = x
    while type(leaf) is list and leaf:
        leaf = leaf[0]
    kind = type(leaf)
    code = _LIST_CODES.get(kind)
    if code is None:
        return None
    shape = _shape_of(x, kind)
    if shape is None:
        return None
    cost = _list_cost(shape)
    if 8 * math.prod(shape) > room or cost > list_room:
        return None
    try:
        arr = np.array(x, dtype=np.float64 if code in "fF" else np.int64)
    except OverflowError:
        return None
    return arr.tobytes(), code, shape, cost



# leaf type -> code: Python floats and ints, and numpy's float64 and int64 scalars (a list built
# from numpy values), each decoded back to its own type
_LIST_CODES = {float: "f", int: "i", np.float64: "F", np.int64: "I"}



def _numpy_list(a: np.ndarray) -> list:
    return list(a) if a.ndim == 1 else [_numpy_list(row) for row in a]



class Encoded:
    """A payload encoded once and sent many times (a case's arguments, the same for every submission)."""

    __slots__ = ("json", "buffers", "offsets", "_pickled")

    def __init__(self, value: Any) -> None:
        tagged, self.buffers = encode(value)
        self.json = json.dumps(tagged, separators=COMPACT)
        offsets, pos = [], 0
        for b in self.buffers:
            offsets.append([pos, len(b)])
            pos += len(b)
        self.offsets = json.dumps(offsets, separators=COMPACT)
        self._pickled: bytes | None = None

    def pickled(self) -> bytes:
        """The payload as a sandbox decodes it, pickled: for a request sent to many sandboxes.

        Only ever the grader's own data, going one way (see unpack_request): what a sandbox
        sends is never unpickled. Decoding first makes the objects exactly those the sandbox
        would have decoded itself (plain values, numpy arrays and scalars, Opaque), and a
        sandbox loads them with one C call instead of decoding tags and arrays in Python.
        """
        if self._pickled is None:
            body = b"".join(self.buffers)
            value = decode(json.loads(self.json), json.loads(self.offsets), body)
            # protocol 4: arrays load owning their data, as decoded ones do (5 makes them views,
            # which a student's in-place resize would then fail on)
            self._pickled = pickle.dumps(value, protocol=4)
        return self._pickled



_PLAIN = frozenset({float, int, str, bool, type(None)})



def decode(tagged: Any, offsets: list, body: bytes | bytearray) -> Any:
    """A payload's values from its tags and buffers. Every buffer's bytes are used at most once
    and packed lists build at most MAX_LIST_ITEMS objects, as `encode` guarantees."""
    if type(offsets) is not list:
        raise ProtocolError("bad buffer table")
    used = [0, 0]  # bytes of the body decoded, objects of packed lists built

    def dec(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH + 2:
            raise ProtocolError("nested too deeply")
        t = type(x)
        if t is float or t is int or t is str or t is bool or x is None:
            return x
        if t is list:
            if _PLAIN.issuperset(map(type, x)):  # a row of plain JSON scalars: nothing to decode
                return x
            return [dec(v, depth + 1) for v in x]
        if t is not dict or len(x) != 1:
            raise ProtocolError("untagged object in payload")
        (tag, v), = x.items()
        if type(v) is not list and tag != "float":
            raise ProtocolError(f"bad {str(tag)[:20]!r} tag")
        if tag == "nd":
            return _array(v, offsets, body, used)
        if tag == "nl" and len(v) == 3 and type(v[1]) is str and v[1] in _NL_DTYPES:
            a = _array([v[0], _NL_DTYPES[v[1]], v[2], False], offsets, body, used, listed=True)
            return a.tolist() if v[1] in "fi" else _numpy_list(a)
        if tag == "tuple":
            return tuple([dec(i, depth + 1) for i in v])
        if tag == "dict":
            keys, values = [], []
            for pair in v:
                if not (type(pair) is list and len(pair) == 2):
                    raise ProtocolError("bad dict pair")
                keys.append(dec(pair[0], depth + 1))
                values.append(dec(pair[1], depth + 1))
            return _dict(keys, values)
        if tag == "float" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag == "complex" and len(v) == 2:
            real, imag = dec(v[0], depth + 1), dec(v[1], depth + 1)
            if type(real) is float and type(imag) is float:
                return complex(real, imag)
        if tag == "opaque" and len(v) == 2 and type(v[0]) is str and type(v[1]) is str:
            return Opaque(v[0][:200], v[1][:200])
        if tag == "toolarge" and len(v) == 2 and type(v[0]) is str and type(v[1]) is list:
            if not all(type(n) is int for n in v[1]):
                raise ProtocolError("bad note")
            return Opaque(f"oversized {v[0][:200]}", f"shape {v[1][:32]}"[:200])  # e.g. "oversized float64" (array)
        raise ProtocolError(f"unknown tag {str(tag)[:20]!r}")

    try:
        return dec(tagged, 0)
    except ProtocolError:
        raise
    except Exception as e:  # noqa: BLE001  (whatever a forged payload provokes in decoding)
        raise ProtocolError(f"malformed payload ({type(e).__name__})") from None
    finally:
        # `dec` refers to itself, a cycle freed only by a collection: it must not keep the frame's bytes
        body = b""



_NL_DTYPES = {"f": "<f8", "i": "<i8", "F": "<f8", "I": "<i8"}



def _dict(keys: list, values: list) -> dict:
    """A dict of decoded pairs; refused if more than MAX_SAME_HASH distinct keys share a hash
    (each insertion would compare with all of them: quadratic time)."""
    if len(keys) > MAX_SAME_HASH:
        try:
            hashes = [hash(k) for k in keys]
        except TypeError:
            raise ProtocolError("unhashable dict key") from None
        if len(set(hashes)) < len(hashes):
            groups: dict[int, set] = {}
            for k, h in zip(keys, hashes, strict=True):
                group = groups.setdefault(h, set())
                group.add(k)  # at most MAX_SAME_HASH comparisons, all in C
                if len(group) > MAX_SAME_HASH:
                    raise ProtocolError(f"more than {MAX_SAME_HASH} dict keys with one hash")
    try:
        return dict(zip(keys, values, strict=True))
    except TypeError:
        raise ProtocolError("unhashable dict key") from None



_DTYPES: dict[str, np.dtype] = {}  # dtype strings already checked



def _dtype(dtype_str: Any) -> np.dtype:
    if type(dtype_str) is not str:
        raise ProtocolError("bad dtype")
    dtype = _DTYPES.get(dtype_str)
    if dtype is None:
        try:
            dtype = np.dtype(dtype_str)
        except (TypeError, ValueError, SyntaxError):
            raise ProtocolError(f"bad dtype {dtype_str[:40]!r}") from None
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise ProtocolError(f"refused dtype {dtype_str[:40]!r}")
        if len(_DTYPES) < 64:
            _DTYPES[dtype_str] = dtype
    return dtype



def _array(v: list, offsets: list, body: bytes | bytearray, used: list[int], listed: bool = False) -> np.ndarray:
    """The array an `nd` tag (or, `listed`, an `nl` one) describes, its bytes counted in `used`."""
    if len(v) != 4:
        raise ProtocolError("bad array tag")
    index, dtype_str, shape, scalar = v
    if type(index) is not int or not 0 <= index < len(offsets):
        raise ProtocolError("bad buffer index")
    dtype = _dtype(dtype_str)
    smallest = 1 if listed else 0  # a packed list has no empty dimension
    if not (type(shape) is list and len(shape) <= 32 and all(type(n) is int and n >= smallest for n in shape)):
        raise ProtocolError("bad shape")
    entry = offsets[index]
    if not (type(entry) is list and len(entry) == 2):
        raise ProtocolError("bad buffer table")
    start, length = entry
    if not (type(start) is int and type(length) is int and 0 <= start and 0 <= length <= len(body) - start):
        raise ProtocolError("buffer out of range")
    count = math.prod(shape)
    if count * dtype.itemsize != length:
        raise ProtocolError("array size does not match its shape")
    used[0] += length
    if used[0] > len(body):
        raise ProtocolError("buffers used more than once")
    if listed:
        used[1] += _list_cost(shape)
        if used[1] > MAX_LIST_ITEMS:
            raise ProtocolError(f"packed lists of more than {MAX_LIST_ITEMS} items")
        return np.frombuffer(body, dtype=dtype, count=count, offset=start).reshape(shape)
    a = np.frombuffer(body, dtype=dtype, count=count, offset=start).reshape(shape).copy()
    return a[()] if scalar else a



_IMMUTABLE = frozenset({float, int, bool, str, type(None), complex, np.float64, np.int64, np.bool_})



def snapshot(x: Any) -> Any:
    """A copy of an argument deep enough to tell afterwards whether a call changed it."""
    t = type(x)
    if t is list:
        if _IMMUTABLE.issuperset(map(type, x)):
            return x[:]  # a flat list of numbers: a C-speed copy
        return [snapshot(v) for v in x]
    if t is np.ndarray:
        return x.copy()
    if t is dict:
        return {k: snapshot(v) for k, v in x.items()}
    if t is tuple:
        return tuple(snapshot(v) for v in x)
    return x  # scalars cannot change



def identical(a: Any, b: Any) -> bool:
    """Exact equality of an argument before and after a call (nan equals nan, arrays bit for bit)."""
    ta, tb = type(a), type(b)
    if ta is list and tb is list:
        try:
            if a == b:  # C-speed for lists of numbers; nan and arrays inside take the slow path
                return True
        except (ValueError, TypeError):
            pass
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if ta is np.ndarray or tb is np.ndarray:
        if ta is not tb or a.shape != b.shape:
            return False
        if a.dtype == b.dtype:
            return a.tobytes() == b.tobytes()  # bit-for-bit, nan included
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return False



def changes(args: list, kwargs: dict, before: tuple[list, dict]) -> list[dict]:
    """The arguments a call changed, by position and by name, with their values after it."""
    def same(a: Any, b: Any) -> bool:
        try:
            return identical(a, b)
        except BaseException:  # a student's object that cannot even be compared has changed
            return False

    old_args, old_kwargs = before
    changed = {i: a for i, (a, b) in enumerate(zip(args, old_args, strict=False)) if not same(a, b)}
    changed_kw = {k: v for k, v in kwargs.items() if k not in old_kwargs or not same(v, old_kwargs[k])}
    return [changed, changed_kw]



_FLAT = frozenset({float, int, bool, np.float64, np.int64})



def approx_bytes(value: Any, depth: int = 0) -> int:
    """About how much memory a value holds: arrays exactly, long containers from a sample of 32.
    Exact types only: what a student's subclass says of itself is never asked."""
    t = type(value)
    if t is np.ndarray:
        return value.nbytes + 112
    if t is str or t is bytes:
        return len(value) + 50
    if (t is list or t is tuple or t is dict) and depth < 8:
        if value and t is not dict and type(value[0]) in _FLAT:
            return 64 + 40 * len(value)  # a row of numbers: a pointer and a number object each
        sample = list(itertools.islice(value.values() if t is dict else value, 32))
        each = sum(approx_bytes(v, depth + 1) for v in sample) / max(len(sample), 1)
        return 64 + int(len(value) * (8 + each))
    return 32
