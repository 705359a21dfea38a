"""Capturing packets on an interface (loopback by default) with scapy's AsyncSniffer.

What this does about the traps measured in ../shared/reference/scapy-tls.md:
- scapy's default sniff socket sees every loopback packet twice: a Linux `L2Socket` is opened here and handed to
  AsyncSniffer (`opened_socket=`), which sees each packet once;
- without root or CAP_NET_RAW, AsyncSniffer.start() returns normally and hides the PermissionError: opening the
  socket ourselves raises it at once, so the caller can fall back to the in-process tap;
- bursts lose packets: the kernel drops what does not fit in the socket's receive buffer (on loopback one
  64 KiB segment takes about twice that), so the buffer is raised to `buffer_size` (SO_RCVBUFFORCE for root);
- frames are not dissected (the socket delivers raw bytes): the decode pipeline has its own link layer code;
- scapy reads at most 65535 bytes per packet, and a full 64 KiB loopback segment is 14 bytes more (its
  Ethernet header): the socket here reads up to MAX_FRAME, so no loopback segment is cut short;
- packets still queued in the socket when the sniffer stops are read before stop() returns.

A BPF filter (`tcp port N`) keeps other traffic out in the kernel. libpcap compiles it for a snapshot length of
65535, which would cut full loopback segments: the program's accept length is raised before it is attached.
Without libpcap there is no kernel filter, and the ports are checked here (they always are, cheaply, as packets
may arrive between opening the socket and attaching the filter).
"""
from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
from typing import Callable, Iterable

from .linklayer import NotTCP, parse_segment
from .pcap_io import LINKTYPE_ETHERNET, LINKTYPE_RAW

DEFAULT_BUFFER = 64 << 20
# The largest loopback frame: a 65535-byte IP packet plus its 14-byte Ethernet header (and room for tags).
# Not more: every read allocates this much, and larger allocations are mmap()ed, which slows the sniffer down.
MAX_FRAME = 65535 + 14 + 8
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_CAP_NET_RAW = 13
# Linux ARPHRD_* hardware types -> the link type of the frames a packet socket reads there
_LINKTYPES = {1: LINKTYPE_ETHERNET, 772: LINKTYPE_ETHERNET, 65534: LINKTYPE_RAW}

PacketCallback = Callable[[float, int, bytes], None]      # (time, linktype, frame bytes)


class CapturePermissionError(PermissionError):
    """This process may not capture packets (needs root or CAP_NET_RAW); the message says why."""


def capture_permission() -> tuple[bool, str]:
    """(allowed, why): can this process open a packet socket? Tried for real, so a capability granted
    another way (file capabilities, a container setting) counts too."""
    try:
        probe = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except AttributeError:
        return False, "this system has no Linux packet sockets (AF_PACKET)"
    except PermissionError as exc:
        who = "root, but without CAP_NET_RAW" if os.geteuid() == 0 else "not root and no CAP_NET_RAW"
        return False, f"{who}: opening a packet socket failed ({exc.strerror})"
    except OSError as exc:
        return False, f"opening a packet socket failed: {exc}"
    probe.close()
    if os.geteuid() == 0:
        return True, "running as root"
    if _has_capability(_CAP_NET_RAW):
        return True, "the process has CAP_NET_RAW"
    return True, "the process may open packet sockets"


def _has_capability(bit: int) -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except OSError:
        pass
    return False


def port_filter(ports: Iterable[int] | None) -> str:
    """The BPF expression for TCP on these ports (all TCP when None)."""
    ports = sorted(set(ports or ()))
    if not ports:
        return "tcp"
    return "tcp and (" + " or ".join(f"port {p}" for p in ports) + ")"


class LoopbackSniffer:
    """Calls `on_packet(time, linktype, frame)` for every TCP packet on `iface` to or from `ports`, from a
    thread of its own. `netns`: an object with an `entered()` context manager (workbench.peers.PrivateNetwork):
    the socket is opened inside that network namespace and captures its loopback."""

    def __init__(self, on_packet: PacketCallback, *, ports: Iterable[int] | None = None, iface: str = "lo",
                 netns=None, buffer_size: int = DEFAULT_BUFFER):
        self.on_packet = on_packet
        self.ports = frozenset(ports or ())
        self.iface = iface
        self.netns = netns
        self.buffer_size = buffer_size
        self.kernel_filter = False          # True when the BPF filter is attached to the socket
        self.linktype = LINKTYPE_ETHERNET   # of the frames delivered (from the interface's hardware type)
        self.packets = 0
        self._socket = None
        self._sniffer = None

    def start(self) -> "LoopbackSniffer":
        if self._sniffer is not None:
            raise RuntimeError("the sniffer was already started")
        allowed, why = capture_permission()
        if not allowed:
            raise CapturePermissionError(why)
        from scapy.sendrecv import AsyncSniffer
        with self.netns.entered() if self.netns is not None else contextlib.nullcontext():
            self._socket = self._open_socket()
        sniffing = threading.Event()
        self._sniffer = AsyncSniffer(opened_socket=self._socket, prn=self._deliver, store=False,
                                     started_callback=sniffing.set)
        self._sniffer.start()
        # AsyncSniffer.stop() before its thread is set up returns without stopping it: wait until it sniffs
        while not sniffing.wait(0.05):
            if not self._sniffer.running:
                error = self._sniffer.exception
                self._close_socket()
                raise RuntimeError(f"the sniffer did not start: {error!r}")
        return self

    def _open_socket(self):
        from scapy.config import conf
        quiet = logging.getLogger("scapy.runtime")
        level = quiet.level
        quiet.setLevel(logging.ERROR)           # "Unable to guess type" for lo: we want raw frames anyway
        try:
            sock = _whole_frame_socket_class()(iface=self.iface)
        except PermissionError as exc:
            raise CapturePermissionError(f"cannot open a packet socket on {self.iface}: {exc}") from exc
        finally:
            quiet.setLevel(level)
        sock.LL = conf.raw_layer
        hardware_type = sock.ins.getsockname()[3]
        if hardware_type not in _LINKTYPES:
            sock.close()
            raise ValueError(f"interface {self.iface}: hardware type {hardware_type} is not supported "
                             "(Ethernet, loopback and raw IP interfaces are)")
        self.linktype = _LINKTYPES[hardware_type]
        for option in (_SO_RCVBUFFORCE, socket.SO_RCVBUF):
            with contextlib.suppress(OSError):
                sock.ins.setsockopt(socket.SOL_SOCKET, option, self.buffer_size)
                break
        self.kernel_filter = _attach_filter(sock.ins, port_filter(self.ports), self.iface)
        return sock

    @property
    def running(self) -> bool:
        return self._sniffer is not None and self._sniffer.running

    @property
    def exception(self) -> BaseException | None:
        """What ended the sniffing thread, if something did."""
        return None if self._sniffer is None else self._sniffer.exception

    def stop(self) -> None:
        """Stop sniffing, deliver what the socket still holds, close the socket."""
        sniffer, sock = self._sniffer, self._socket
        if sniffer is None or sock is None:
            return
        try:
            if sniffer.running:
                sniffer.stop()                  # joins its thread: from here on only we read the socket
            self._drain(sock)
        finally:
            self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _drain(self, sock) -> None:
        while True:
            try:
                ready, _, _ = select.select([sock.ins], [], [], 0)
            except (OSError, ValueError):
                return
            if not ready:
                return
            packet = sock.recv()
            if packet is not None:              # None: the outgoing copy of a loopback packet, skipped
                self._deliver(packet)

    def _deliver(self, packet) -> None:
        data = bytes(packet)
        # checked here too: packets that arrived before the kernel filter was attached, or no kernel filter
        if self.ports and not self._wanted(data):
            return
        self.packets += 1
        self.on_packet(float(packet.time), self.linktype, data)

    def _wanted(self, data: bytes) -> bool:
        try:
            seg = parse_segment(self.linktype, data)
        except NotTCP:
            return False
        return seg is not None and (seg.sport in self.ports or seg.dport in self.ports)


_SOCKET_CLASS = None


def _whole_frame_socket_class():
    """scapy's Linux L2Socket, reading whole frames (scapy's default read size cuts them at 65535 bytes)."""
    global _SOCKET_CLASS
    if _SOCKET_CLASS is None:
        from scapy.arch.linux import L2Socket

        class WholeFrameL2Socket(L2Socket):
            def recv_raw(self, x=MAX_FRAME):
                return super().recv_raw(max(x, MAX_FRAME))

        _SOCKET_CLASS = WholeFrameL2Socket
    return _SOCKET_CLASS


def _attach_filter(sock: socket.socket, expression: str, iface: str) -> bool:
    """Compile `expression` with libpcap (through scapy), let it accept whole frames, attach it to `sock`.
    False when no filter could be attached."""
    try:
        from scapy.arch.common import compile_filter, free_filter
        from scapy.data import SO_ATTACH_FILTER
        from scapy.error import Scapy_Exception
        from scapy.libs.structures import sock_fprog
    except ImportError:
        return False
    try:
        program = compile_filter(expression, iface)
    except (ImportError, OSError, Scapy_Exception):
        return False
    try:
        for i in range(program.bf_len):
            insn = program.bf_insns[i]
            if insn.code == _BPF_RET_K and insn.k:       # "accept k bytes" (0 drops the packet)
                insn.k = MAX_FRAME
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, sock_fprog(program.bf_len, program.bf_insns))
    except OSError:
        return False
    finally:
        free_filter(program)
    return True


_BPF_RET_K = 0x06
