"""Hostile submission: reach a listener on the host through io_uring, where seccomp sees no socket call.

Sets up a ring (io_uring_setup), then submits IORING_OP_SOCKET and IORING_OP_CONNECT to a TCP port
on 127.0.0.1 and to an abstract unix socket, both opened by the test. Also calls io_uring_enter and
io_uring_register on a bad descriptor, so that a refusal by the filter (EPERM) shows apart from the
kernel's answer (EBADF). Prints one line per step; "CONNECTED" only if a connection was made.
x86_64 system call numbers.
"""

import ctypes
import mmap
import os
import socket
import struct

PORT = int("__PORT__")
UNIX = "__UNIX__"  # an abstract name: it starts with a NUL byte

SYS_IO_URING_SETUP, SYS_IO_URING_ENTER, SYS_IO_URING_REGISTER = 425, 426, 427
IORING_OP_CONNECT, IORING_OP_SOCKET = 16, 45
IORING_OFF_SQ_RING, IORING_OFF_CQ_RING, IORING_OFF_SQES = 0, 0x8000000, 0x10000000
IORING_FEAT_SINGLE_MMAP = 1
IORING_ENTER_GETEVENTS = 1

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def raw(*args):
    """A system call with integer or pointer arguments: its return value and errno."""
    ctypes.set_errno(0)
    ret = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return ret, ctypes.get_errno()


def report(label, ret, err):
    print(f"{label}: returned {ret}, errno {err}", flush=True)


class Ring:
    """One submission queue entry at a time, waiting for its completion."""

    def __init__(self, fd, params):
        words = struct.unpack_from("30I", params)
        sq_entries, cq_entries, features = words[0], words[1], words[5]
        sq_off, cq_off = words[10:20], words[20:30]
        self.fd = fd
        self.sq_head, self.sq_tail, self.sq_mask, _, _, _, self.sq_array = sq_off[:7]
        self.cq_head, self.cq_tail, self.cq_mask, _, _, self.cqes = cq_off[:6]
        sq_size = self.sq_array + sq_entries * 4
        cq_size = self.cqes + cq_entries * 16
        shared = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        both = mmap.PROT_READ | mmap.PROT_WRITE
        if features & IORING_FEAT_SINGLE_MMAP:
            self.sq = self.cq = mmap.mmap(fd, max(sq_size, cq_size), shared, both, offset=IORING_OFF_SQ_RING)
        else:
            self.sq = mmap.mmap(fd, sq_size, shared, both, offset=IORING_OFF_SQ_RING)
            self.cq = mmap.mmap(fd, cq_size, shared, both, offset=IORING_OFF_CQ_RING)
        self.sqes = mmap.mmap(fd, sq_entries * 64, shared, both, offset=IORING_OFF_SQES)

    def run(self, opcode, fd, addr=0, length=0, off=0, op_flags=0):
        """Submit one operation and return its result (cqe.res)."""
        tail = struct.unpack_from("I", self.sq, self.sq_tail)[0]
        mask = struct.unpack_from("I", self.sq, self.sq_mask)[0]
        index = tail & mask
        sqe = struct.pack("BBHiQQIIQHHiQQ", opcode, 0, 0, fd, off, addr, length, op_flags, 7, 0, 0, 0, 0, 0)
        self.sqes[index * 64:index * 64 + 64] = sqe
        struct.pack_into("I", self.sq, self.sq_array + index * 4, index)
        struct.pack_into("I", self.sq, self.sq_tail, tail + 1)
        ret, err = raw(SYS_IO_URING_ENTER, self.fd, 1, 1, IORING_ENTER_GETEVENTS, 0, 0)
        if ret < 0:
            return f"io_uring_enter failed, errno {err}"
        head = struct.unpack_from("I", self.cq, self.cq_head)[0]
        cmask = struct.unpack_from("I", self.cq, self.cq_mask)[0]
        _, res, _ = struct.unpack_from("QiI", self.cq, self.cqes + (head & cmask) * 16)
        struct.pack_into("I", self.cq, self.cq_head, head + 1)
        return res


def connect_through(ring, label, family, address):
    sock = ring.run(IORING_OP_SOCKET, family, off=socket.SOCK_STREAM)
    print(f"{label} socket: {sock}", flush=True)
    if not isinstance(sock, int) or sock < 0:
        return
    buffer = ctypes.create_string_buffer(address, len(address))
    res = ring.run(IORING_OP_CONNECT, sock, addr=ctypes.addressof(buffer), off=len(address))
    print(f"{label} connect: {'CONNEC' + 'TED' if res == 0 else res}", flush=True)
    os.close(sock)


report("io_uring_enter", *raw(SYS_IO_URING_ENTER, -1, 0, 0, 0, 0, 0))
report("io_uring_register", *raw(SYS_IO_URING_REGISTER, -1, 0, 0, 0))
params = ctypes.create_string_buffer(120)
fd, err = raw(SYS_IO_URING_SETUP, 8, params)
report("io_uring_setup", fd, err)
if fd >= 0:
    ring = Ring(fd, params.raw)
    tcp = struct.pack("<HH4s8x", socket.AF_INET, socket.htons(PORT), socket.inet_aton("127.0.0.1"))
    connect_through(ring, "tcp", socket.AF_INET, tcp)
    unix = struct.pack("<H", socket.AF_UNIX) + UNIX.encode()
    connect_through(ring, "unix", socket.AF_UNIX, unix)


def dot(a, b):
    return 0.0
