"""One guest connection to one host server: QEMU runs this per connection (``guestfwd=...-cmd:``).

QEMU's ``guestfwd`` to a ``tcp:`` chardev connects once, at start-up, and serves a single
guest connection; with ``cmd:`` QEMU starts a command per guest connection, its standard input
and output being that connection. This relays them to 127.0.0.1:PORT until either side closes
(or 120 s of silence).

    python3 relay.py PORT
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def main() -> int:
    port = int(sys.argv[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ)
    sel.register(sock, selectors.EVENT_READ)
    open_ends = 2
    while open_ends:
        events = sel.select(timeout=120)
        if not events:
            break
        for key, _ in events:
            if key.fileobj == 0:
                data = os.read(0, 65536)
                if not data:
                    sel.unregister(0)
                    sock.shutdown(socket.SHUT_WR)
                    open_ends -= 1
                else:
                    sock.sendall(data)
            else:
                data = sock.recv(65536)
                if not data:
                    sel.unregister(sock)
                    open_ends -= 1
                    os.close(1)
                else:
                    os.write(1, data)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
