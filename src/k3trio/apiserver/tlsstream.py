"""Server-side TLS on a non-blocking socket, as a Trio stream, for the API server's connections.

``trio.SSLStream`` drives OpenSSL through memory BIOs with a general retry loop, locks and
conflict detectors around every read and write; per request that costs more than the API
server's handler itself. This stream hands the socket to ``ssl.SSLSocket`` in non-blocking
mode instead, so each ``send_all``/``receive_some`` is one C call (decrypt/encrypt plus the
system call) and Trio is only asked to wait when OpenSSL reports it would block.

Invariants:
- Trio waits on the socket only after OpenSSL said it needs the socket (``SSLWantRead`` /
  ``SSLWantWrite``), never while OpenSSL holds buffered bytes, so no data is stranded.
- Each OpenSSL call completes without an ``await`` in between; one task may read while
  another writes (HTTP/2 does), never two of either.
- Every method is a cancel point. ``receive_some`` and ``do_handshake`` are also schedule
  points; ``send_all`` yields only when it has to wait, so writing one event to each of a
  thousand watchers costs no extra trip through the scheduler. Cancellation is safe for
  ``receive_some``; a cancelled ``send_all`` may have sent part of its data, after which the
  stream must be abandoned.
- Timeouts cost nothing on the fast path: ``read_deadline`` (absolute, Trio clock) and
  ``write_timeout`` (seconds per ``send_all``) apply only once a call has to wait; expiry
  raises ``trio.TooSlowError`` (a write timeout also aborts the stream).
- TLS renegotiation is refused; a peer's EOF without ``close_notify`` reads as EOF (as HTTPS
  clients commonly close).
- :meth:`abort` closes the socket synchronously and wakes any task waiting on it with
  ``trio.ClosedResourceError``.
"""

from __future__ import annotations

import errno
import math
import socket
import ssl
from typing import Any

import trio

__all__ = ["TLSStream", "wrap_server_socket"]

_DEFAULT_RECEIVE = 65536


def wrap_server_socket(stream: trio.SocketStream, ctx: ssl.SSLContext) -> TLSStream:
    """Take over the socket of an accepted ``stream`` (which is unusable afterwards)."""
    tsock = stream.socket
    family, type_, proto = tsock.family, tsock.type, tsock.proto
    raw = socket.socket(family, type_, proto, fileno=tsock.detach())
    raw.setblocking(False)
    sock = ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
    return TLSStream(sock)


class TLSStream(trio.abc.Stream):
    """A server-side TLS connection (see the module docstring)."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self._closed = False
        #: ``receive_some`` raises TooSlowError when it is still waiting at this time.
        self.read_deadline = math.inf
        #: ``send_all`` raises TooSlowError (and aborts) when it waits longer than this.
        self.write_timeout = math.inf

    # -- facts about the connection -------------------------------------------------------------
    def getpeercert(self, binary_form: bool = False) -> Any:
        return self.sock.getpeercert(binary_form)

    def selected_alpn_protocol(self) -> str | None:
        return self.sock.selected_alpn_protocol()

    def getpeername(self) -> Any:
        return self.sock.getpeername()

    def getsockname(self) -> Any:
        return self.sock.getsockname()

    # -- I/O ------------------------------------------------------------------------------------
    async def do_handshake(self) -> None:
        """Complete the TLS handshake. Raises BrokenResourceError when it fails."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            self._check_open()
            try:
                self.sock.do_handshake()
                break
            except ssl.SSLWantReadError:
                await trio.lowlevel.wait_readable(self.sock)
            except ssl.SSLWantWriteError:
                await trio.lowlevel.wait_writable(self.sock)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise trio.BrokenResourceError(f"TLS handshake failed: {exc}") from exc
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        size = max_bytes or _DEFAULT_RECEIVE
        waited = False
        while True:
            self._check_open()
            try:
                data = self.sock.recv(size)
                break
            except ssl.SSLWantReadError:
                waited = True
                await self._wait(trio.lowlevel.wait_readable, self.read_deadline)
            except ssl.SSLWantWriteError:
                waited = True
                await self._wait(trio.lowlevel.wait_writable, self.read_deadline)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                data = b""
                break
            except (ssl.SSLError, OSError) as exc:
                if isinstance(exc, OSError) and exc.errno in (errno.EBADF, errno.ENOTSOCK) and self._closed:
                    raise trio.ClosedResourceError() from exc
                raise trio.BrokenResourceError(str(exc)) from exc
        if not waited:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        view = memoryview(data)
        deadline = math.inf
        while view:
            self._check_open()
            try:
                sent = self.sock.send(view)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError) as want:
                if deadline == math.inf:
                    deadline = trio.current_time() + self.write_timeout
                wait = trio.lowlevel.wait_writable if isinstance(want, ssl.SSLWantWriteError) else trio.lowlevel.wait_readable
                try:
                    await self._wait(wait, deadline)
                except trio.TooSlowError:
                    self.abort()
                    raise
                continue
            except (ssl.SSLError, OSError) as exc:
                raise trio.BrokenResourceError(str(exc)) from exc
            view = view[sent:]

    async def _wait(self, wait: Any, deadline: float) -> None:
        if deadline == math.inf:
            await wait(self.sock)
            return
        with trio.move_on_at(deadline):
            await wait(self.sock)
            return
        raise trio.TooSlowError()

    async def wait_send_all_might_not_block(self) -> None:
        self._check_open()
        await trio.lowlevel.wait_writable(self.sock)

    def _check_open(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the TLS stream is closed")

    # -- closing --------------------------------------------------------------------------------
    def abort(self) -> None:
        """Close at once (no ``close_notify``); tasks waiting on the socket are woken."""
        if self._closed:
            return
        self._closed = True
        try:
            trio.lowlevel.notify_closing(self.sock)
        except (ValueError, OSError):
            pass
        self.sock.close()

    async def aclose(self) -> None:
        """Send ``close_notify`` when the socket takes it without waiting, then close."""
        if not self._closed:
            try:
                self.sock.unwrap()
            except (ssl.SSLError, OSError, ValueError):
                pass
        self.abort()
        await trio.lowlevel.checkpoint()

    async def aclose_lingering(self, timeout: float) -> None:
        """Close while the peer may still be sending: FIN, discard input until EOF or ``timeout``.

        Closing with unread input makes the kernel reset the connection, which can destroy a
        response the peer has not read yet.
        """
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        try:
            with trio.move_on_after(timeout):
                try:
                    self.sock.unwrap()
                except (ssl.SSLError, OSError, ValueError):
                    pass
                try:
                    # The TLS layer is dropped here; what follows is plain socket I/O.
                    self.sock.shutdown(socket.SHUT_WR)
                    while True:
                        try:
                            if not self.sock.recv(_DEFAULT_RECEIVE):
                                break
                        except (BlockingIOError, ssl.SSLWantReadError):
                            await trio.lowlevel.wait_readable(self.sock)
                except (ssl.SSLError, OSError, ValueError):
                    pass
        finally:
            self.abort()
        await trio.lowlevel.checkpoint()
