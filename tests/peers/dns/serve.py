"""A real DNS server on loopback for the verified-domain tests (dnslib, in tests/peers/venv).

Usage: serve.py PORT RECORDS_JSON
Answers TXT questions (UDP and TCP) from RECORDS_JSON, a JSON object mapping a lowercase name
without the trailing dot to a list of strings; the file is read on every question, so a test
can publish or withdraw a record while the server runs. Other names get NXDOMAIN. Prints
"ready" once both sockets listen.
"""

import json
import sys
import time

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class FileResolver(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        try:
            with open(self.path, encoding="utf-8") as f:
                records = json.load(f)
        except (OSError, ValueError):
            records = {}
        values = records.get(name)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for v in values:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(v), ttl=0))
        return reply


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    resolver = FileResolver(path)
    quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data")
    servers = [
        DNSServer(resolver, port=port, address="127.0.0.1", logger=quiet),
        DNSServer(resolver, port=port, address="127.0.0.1", tcp=True, logger=quiet),
    ]
    for s in servers:
        s.start_thread()
    print("ready", flush=True)
    while all(s.isAlive() for s in servers):
        time.sleep(0.2)


if __name__ == "__main__":
    main()
