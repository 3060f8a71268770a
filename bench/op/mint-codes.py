"""Pre-mints authorization codes for bench/op-load: GET /oauth2/authorize with a Lanyard session
cookie (the real flow; the session is reused, so Lanyard redirects straight back with a code),
over keep-alive loopback connections from a few threads. Bounded by count and by time.

  python3 mint-codes.py PORT COOKIE CLIENT_ID REDIRECT_URI CHALLENGE COUNT OUT_FILE [MAX_SECS]
Prints "<codes> <seconds>".
"""
import http.client
import sys
import threading
import time
from urllib.parse import urlencode, urlparse, parse_qs

port, cookie, client_id, redirect_uri, challenge = sys.argv[1:6]
count, out = int(sys.argv[6]), sys.argv[7]
max_secs = float(sys.argv[8]) if len(sys.argv) > 8 else 40.0
query = urlencode({
    "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
    "scope": "openid profile email offline_access", "state": "bench", "nonce": "bench-nonce",
    "code_challenge": challenge, "code_challenge_method": "S256", "organization": "demo",
})
codes, lock, errors = [], threading.Lock(), []
deadline = time.monotonic() + max_secs


def worker(n):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    for _ in range(n):
        if time.monotonic() > deadline:
            return
        conn.request("GET", "/oauth2/authorize?" + query, headers={"Cookie": cookie})
        r = conn.getresponse()
        r.read()
        loc = r.getheader("Location") or ""
        code = parse_qs(urlparse(loc).query).get("code", [None])[0]
        if r.status not in (302, 303) or not code:
            errors.append(f"{r.status} {loc}")
            return
        with lock:
            codes.append(code)


t0 = time.monotonic()
threads = [threading.Thread(target=worker, args=(count // 4 + 1,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - t0
if errors:
    sys.exit(f"authorize did not redirect with a code: {errors[0]}")
with open(out, "w") as f:
    f.write("\n".join(codes[:count]) + "\n")
print(len(codes[:count]), round(elapsed, 2))
