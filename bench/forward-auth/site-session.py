#!/usr/bin/env python3
"""Signs a person in through the demo's test IdP (SAML) and hands the session to a site the way
a browser does (/content/signin, then the site's /_lanyard/callback with the site's Host);
prints the site's `lanyard_site` cookie value. Standard library only.

Usage: site-session.py PORT SITE_ID SITE_HOST EMAIL RETURN_PATH
"""
import html
import http.client
import re
import sys
import urllib.parse as up

port, site_id, host, email, ret = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]


def req(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
        body = up.urlencode(body)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    return r, data


def rel(location):
    u = up.urlsplit(location)
    return u.path + ("?" + u.query if u.query else "")


def field(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    if not m:
        sys.exit(f"no field {name} in the page")
    return html.unescape(m.group(1))


def cookies(r):
    out = []
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            out.append(v.split(";", 1)[0])
    return "; ".join(out)


r, _ = req("GET", "/t/demo/sso/test-idp-saml/start")
r, picker = req("GET", rel(r.getheader("location")))
fields = {"person": "custom", "email": email, "name": "Bench", "groups": "viewer", "fault": "none"}
for n in ["request_id", "acs_url", "sp_entity_id", "relay_state"]:
    fields[n] = field(picker, n)
r, posted = req("POST", "/dev-idp/saml/sso", fields)
acs = field(posted, "acs_url") if 'name="acs_url"' in posted else html.unescape(re.search(r'action="([^"]*)"', posted).group(1))
back = {"SAMLResponse": field(posted, "SAMLResponse"), "RelayState": field(posted, "RelayState")}
r, _ = req("POST", rel(acs), back)
session = cookies(r)
if not session:
    sys.exit(f"no session after the ACS: {r.status}")
r, _ = req("GET", "/content/signin?" + up.urlencode({"site": site_id, "return_to": ret}), headers={"Cookie": session})
to = r.getheader("location") or ""
if "/_lanyard/callback?code=" not in to:
    sys.exit(f"no handoff: {r.status} {to}")
r, _ = req("GET", rel(to), headers={"Host": host})
m = re.search(r"lanyard_site=([^;]+)", cookies(r))
if not m:
    sys.exit(f"no site cookie: {r.status}")
print(m.group(1))
