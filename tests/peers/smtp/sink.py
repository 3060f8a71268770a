"""A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts.

Usage: python3 sink.py PORT DIR

Each accepted message is written to DIR/<n>.eml (written to a temporary name, then renamed,
so a reader never sees half a message); the envelope recipients go to DIR/<n>.rcpt. Prints
"ready" once listening, and stops when stdin closes or on SIGTERM.
"""

import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        for ext, data in (("rcpt", "\n".join(envelope.rcpt_tos).encode()), ("eml", envelope.original_content)):
            tmp = os.path.join(self.out, f".{n}.{ext}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(self.out, f"{n}.{ext}"))
        return "250 Message accepted for delivery"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
