#!/usr/bin/env python3
"""The HTTP and database checks of bench/signin-load/reliability (stdlib only).

Subcommands (each prints one line of JSON counts on stdout, details on stderr):
  sp-start BASE N OUT          N SP-initiated starts (GET /t/demo/sso/bench/start) on BASE:
                               OUT.ids (AuthnRequest IDs, one a line, for the minter's
                               --in-response-to) and OUT.json (RelayState + binding cookie each)
  sp-finish BASE BODIES STARTS OUT  posts body i with start i's RelayState and binding cookie to
                               BASE's ACS; OUT: "<line> <status> <code> <session cookie>" lines
  outcomes LOGDIR N OUT        reads acs.lua's logs of a run over N bodies: what each body got
                               (303 + cookie / refusal with code / sent, no answer / never sent);
                               OUT.ok: "<line> <cookie>" of every 303, OUT.lost: sent, no answer
  sessions BASE OKFILE N_USERS NEW_EVERY [STRIDE OFFSET]  GET /t/demo/session with every
                               cookie of OKFILE ("<line> <cookie>"); a valid one must name the
                               person the minter put in that response (minted index
                               (line - 1) * STRIDE + OFFSET: a file of every other line)
  post BASE BODIES OKFILE      posts again every body OKFILE names; counts (status, code)
  dupes-sqlite DB | dupes-pg   duplicate accounts: two users with one email, two links with one
                               federation id, a bench link whose user has another email
Everything talks to 127.0.0.1 only, with a few keep-alive connections in parallel.
"""

import base64
import http.client
import json
import re
import subprocess
import sys
import threading
import urllib.parse
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

TENANT = "demo"
CONN = "bench"
ACS = f"/t/{TENANT}/saml/{CONN}/acs"
WORKERS = 8
CODE_RE = re.compile(rb"<code>([^<]+)</code>|\"code\"\s*:\s*\"([^\"]+)\"")


def host_port(base):
    u = urllib.parse.urlsplit(base)
    if u.hostname != "127.0.0.1":
        raise SystemExit(f"only 127.0.0.1 is reached (got {base})")
    return u.hostname, u.port


_local = threading.local()


def request(base, method, path, body=None, headers=None):
    """One exchange on this thread's keep-alive connection to base (reconnects once)."""
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    for attempt in (0, 1):
        c = conns.get(base)
        if c is None:
            h, p = host_port(base)
            c = conns[base] = http.client.HTTPConnection(h, p, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, r.getheaders(), data
        except (http.client.HTTPException, OSError):
            c.close()
            conns.pop(base, None)
            if attempt:
                raise
    raise RuntimeError("unreachable")


def error_code(data):
    m = CODE_RE.search(data or b"")
    if not m:
        return "-"
    return (m.group(1) or m.group(2)).decode("utf-8", "replace")


def session_cookie(headers):
    for k, v in headers:
        if k.lower() == "set-cookie" and "lanyard_session_" in v:
            return v.split(";", 1)[0].strip()
    return "-"


def read_lines(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def pmap(fn, items):
    with ThreadPoolExecutor(WORKERS) as ex:
        return list(ex.map(fn, items))


def sp_start(base, n, out):
    starts = []
    for _ in range(int(n)):
        status, headers, _ = request(base, "GET", f"/t/{TENANT}/sso/{CONN}/start")
        loc = dict((k.lower(), v) for k, v in headers).get("location", "")
        if status != 302 or not loc:
            raise SystemExit(f"SP-initiated start: {status}, no redirect to the IdP")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
        xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15)
        m = re.search(rb'<(?:\w+:)?AuthnRequest\b[^>]*\sID="([^"]+)"', xml)
        if not m:
            raise SystemExit("no ID in the AuthnRequest")
        binding = "-"
        for k, v in headers:
            if k.lower() == "set-cookie" and "sso_binding" in v:
                binding = v.split(";", 1)[0].strip()
        starts.append({"id": m.group(1).decode(), "relay_state": q.get("RelayState", [""])[0],
                       "binding": binding})
    with open(out + ".ids", "w") as f:
        f.writelines(s["id"] + "\n" for s in starts)
    with open(out + ".json", "w") as f:
        json.dump(starts, f)
    with_cookie = sum(1 for s in starts if s["binding"] != "-")
    print(json.dumps({"started": len(starts), "with_binding_cookie": with_cookie}))


def sp_finish(base, bodies, starts_file, out):
    bodies = read_lines(bodies)
    with open(starts_file) as f:
        starts = json.load(f)

    def one(i):
        s = starts[i]
        body = bodies[i] + "&RelayState=" + urllib.parse.quote(s["relay_state"], safe="")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if s["binding"] != "-":
            headers["Cookie"] = s["binding"]
        status, h, data = request(base, "POST", ACS, body, headers)
        return i + 1, status, "-" if status == 303 else error_code(data), session_cookie(h)

    results = pmap(one, range(min(len(bodies), len(starts))))
    with open(out, "w") as f:
        f.writelines(f"{ln} {st} {code} {ck}\n" for ln, st, code, ck in results)
    with open(out + ".ok", "w") as f:
        f.writelines(f"{ln} {ck}\n" for ln, st, _, ck in results if st == 303 and ck != "-")
    print(json.dumps({"posted": len(results),
                      "answers": dict(Counter(f"{st} {code}" for _, st, code, _ in results)),
                      "with_session_cookie": sum(1 for r in results if r[3] != "-")}))


def outcomes(logdir, n, out):
    import glob
    sent, answers, unmatched = set(), {}, Counter()
    for path in glob.glob(f"{logdir}/*.log"):
        for line in read_lines(path):
            parts = line.split(" ")
            if parts[0] == "S":
                sent.add(int(parts[1]))
            elif parts[0] == "R":
                if parts[1] == "?":
                    unmatched[f"{parts[2]} {parts[3]}"] += 1
                    continue
                answers[int(parts[1])] = (int(parts[2]), parts[3], parts[4])
    kinds = Counter()
    ok, lost = [], []
    for ln in range(1, int(n) + 1):
        if ln in answers:
            st, code, ck = answers[ln]
            if st == 303 and ck != "-":
                kinds["303 with session cookie"] += 1
                ok.append(f"{ln} {ck}\n")
            elif st == 303:
                kinds["303 WITHOUT session cookie"] += 1
            else:
                kinds[f"{st} {code}"] += 1
        elif ln in sent:
            kinds["sent, no answer (connection error)"] += 1
            lost.append(f"{ln} -\n")
        else:
            kinds["never sent"] += 1
    with open(out + ".ok", "w") as f:
        f.writelines(ok)
    with open(out + ".lost", "w") as f:
        f.writelines(lost)
    res = {"bodies": int(n), "outcomes": dict(kinds)}
    if unmatched:
        res["answers without a body's request id"] = dict(unmatched)
    print(json.dumps(res))


def subject(i, users, new_every):
    """The person of minted response i (0-based): the minter's `subject` (mint_responses.rs)."""
    if new_every > 0 and i % new_every == 0:
        return f"new{i}@bench.example"
    return f"user{(i * 7919) % users}@bench.example"


def sessions(base, okfile, users, new_every, stride="1", offset="0"):
    entries = [line.split(" ", 1) for line in read_lines(okfile)]

    def one(e):
        ln, cookie = int(e[0]), e[1]
        status, _, data = request(base, "GET", f"/t/{TENANT}/session", None, {"Cookie": cookie})
        if status != 200:
            return f"{status} {error_code(data)}"
        email = json.loads(data).get("user", {}).get("email")
        want = subject((ln - 1) * int(stride) + int(offset), int(users), int(new_every))
        return "200 valid, right person" if email == want else f"200 WRONG PERSON {email} != {want}"

    print(json.dumps({"checked": len(entries), "answers": dict(Counter(pmap(one, entries)))}))


def post(base, bodies, okfile):
    bodies = read_lines(bodies)
    lines = [int(line.split(" ", 1)[0]) for line in read_lines(okfile)]

    def one(ln):
        status, h, data = request(base, "POST", ACS, bodies[ln - 1],
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        if status == 303:
            return "303 with session cookie" if session_cookie(h) != "-" else "303"
        return f"{status} {error_code(data)}"

    print(json.dumps({"posted": len(lines), "answers": dict(Counter(pmap(one, lines)))}))


DUPES = {
    "users sharing one email": "SELECT count(*) FROM (SELECT tenant_id, lower(email) "
    "FROM users WHERE email IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d",
    "federation ids linked twice": "SELECT count(*) FROM (SELECT connection_id, federation_id "
    "FROM federated_identities GROUP BY 1, 2 HAVING count(*) > 1) d",
    "bench links whose user has another email": "SELECT count(*) FROM federated_identities f "
    "JOIN users u ON u.id = f.user_id WHERE f.federation_id LIKE '%@bench.example' "
    "AND lower(u.email) <> lower(f.federation_id)",
    "bench users": "SELECT count(*) FROM users WHERE email LIKE '%@bench.example'",
    "bench users without a link": "SELECT count(*) FROM users u WHERE u.email LIKE "
    "'%@bench.example' AND NOT EXISTS (SELECT 1 FROM federated_identities f "
    "WHERE f.user_id = u.id)",
    "sessions": "SELECT count(*) FROM sessions",
    "replay records": "SELECT count(*) FROM replay_cache",
}


def dupes_sqlite(db):
    import sqlite3
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    print(json.dumps({k: c.execute(q).fetchone()[0] for k, q in DUPES.items()}))


def dupes_pg(url):
    res = {}
    for k, q in DUPES.items():
        out = subprocess.run(["psql", url, "-tAc", q], check=True, capture_output=True, text=True)
        res[k] = int(out.stdout.strip())
    print(json.dumps(res))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"sp-start": sp_start, "sp-finish": sp_finish, "outcomes": outcomes, "sessions": sessions,
     "post": post, "dupes-sqlite": dupes_sqlite, "dupes-pg": dupes_pg}[cmd](*args)


if __name__ == "__main__":
    main()
