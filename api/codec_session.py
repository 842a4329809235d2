"""An operator's sign-in to the codec endpoint, for the Temporal UI.

The UI calls the codec endpoint from the browser and can send only cookies with it
("Include cross-origin credentials" in its codec settings), never our admin key. So an
operator with the admin key signs in once at `/codec/sign-in`; the answer sets a cookie
scoped to `/codec`, and the UI's credentialed calls carry it. The cookie holds no key:
an expiry and an HMAC of it under the admin key, so changing the admin key signs
everybody out, and a cookie copied past its expiry opens nothing.

SameSite=Lax: the UI and the API are the same site (one registrable domain, or
localhost on two ports), where the cookie travels; another site's page never sends it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from pydantic import SecretStr

COOKIE = "centralita_codec"
SESSION_S = 8 * 3600


def session_cookie(admin_key: SecretStr, *, now: float | None = None) -> str:
    """A cookie value valid for `SESSION_S` from `now`."""
    expires = int((now if now is not None else time.time()) + SESSION_S)
    return f"{expires}.{_mac(admin_key, expires)}"


def session_is_valid(admin_key: SecretStr, value: str | None, *, now: float | None = None) -> bool:
    """Whether a cookie was made with this admin key and has not expired."""
    if not value:
        return False
    expires_text, _, mac = value.partition(".")
    if not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(mac, _mac(admin_key, expires))


def _mac(admin_key: SecretStr, expires: int) -> str:
    message = f"codec-session:{expires}".encode()
    return hmac.new(admin_key.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


SIGN_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Centralita: decode payloads</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
input,button{font-size:1rem;padding:.4rem}input{width:100%%}</style></head>
<body><h1>Decode Temporal payloads</h1>
<p>Workflow inputs, results and failures are encrypted. Sign in with the admin key to let
the Temporal UI show them decoded in this browser for 8 hours (in the UI: <em>Codec
Server</em>, endpoint <code>%(endpoint)s</code>, <em>Include cross-origin
credentials</em>).</p>
<form method="post" action="session"><label>Admin key
<input type="password" name="key" autocomplete="off" required></label>
<p><button type="submit">Sign in</button></p></form></body></html>
"""
