"""The small server-rendered pages of single sign-on: signed in, and the link
that cannot be used (any more). Every value is HTML-escaped."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any, Final

from services.accounts.usage import Usage
from shared.dates import format_datetime

# The pages carry a sign-in token in their URL: never let it leak as a referrer,
# never let them be framed or cached, and allow nothing but their inline style.
PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src https://www.gravatar.com",
}

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}"
    "main{max-width:34rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin-top:0}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.5rem 1rem}"
    "dt{font-weight:600}dd{margin:0}img{border-radius:50%;vertical-align:middle;margin-right:.5rem}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _quota(limit: int) -> str:
    return "unlimited" if limit <= 0 else f"{limit:,}"


def _used(used: int | None, limit: int, what: str) -> str:
    if used is None:
        return "unavailable"
    text = f"{used:,} of {_quota(limit)} {what}"
    return f"{text} (limit reached)" if 0 < limit <= used else text


def signed_in_page(
    user: Mapping[str, Any], limits: Mapping[str, Any], avatar: str, usage: Usage
) -> str:
    plan = escape(str(user["plan_name"]))
    kind = "free" if user["plan_free"] else "pro"
    expires = format_datetime(user["expires_at"])
    if user["plan_free"]:
        renewal = "no expiry (free plan)"
    elif expires is None:
        renewal = "never expires"
    else:
        renewal = f"until {escape(expires)} UTC"
    # admins are never limited, whatever their plan
    link_limit, click_limit = (
        (0, 0)
        if user["role"] == "admin"
        else (int(limits.get("links", 0)), int(limits.get("clicks", 0)))
    )
    name = escape(str(user["username"]))
    rows = (
        ("Username", name),
        ("Email", escape(str(user["email"]))),
        ("Plan", f"{plan} ({kind}), {renewal}"),
        ("Links", _used(usage.links, link_limit, "links")),
        ("Clicks this month", _used(usage.clicks, click_limit, "tracked clicks")),
        ("Member since", escape(format_datetime(user["created_at"]) or "")),
    )
    details = "\n".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    body = (
        f'<h1><img src="{escape(avatar)}" alt="" width="40" height="40">'
        f"Signed in as {name}</h1>\n"
        f'<dl aria-label="Your account">\n{details}\n</dl>\n'
        "<p>You are signed in on this browser. A fuller dashboard is on its way.</p>"
    )
    return _page(f"Signed in as {user['username']}", body)


def unusable_page(status: int) -> str:
    if status == 410:
        heading = "This sign-in link has already been used or has expired"
        text = "Sign-in links work once, within one hour. Ask for a new one."
    else:
        heading = "This sign-in link is not valid"
        text = "Check that you copied the whole link, or ask for a new one."
    return _page(heading, f"<h1>{escape(heading)}</h1>\n<p>{escape(text)}</p>")
