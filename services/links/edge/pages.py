"""The HTML a visitor can get from the edge: small, server-rendered, usable
without JavaScript, and with every dynamic value escaped (``html.escape`` for
markup and attributes, :func:`pixels.js_string` inside scripts)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from html import escape
from typing import Final

from aiohttp import web

from services.links.edge.entries import LinkEntry, Overlay, Splash
from services.links.edge.pixels import js_string, render_pixels

NO_STORE: Final = "private, no-store"
HTML: Final = "text/html"

_CSS: Final = (
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:#1f2328;background:#f6f8fa}"
    "main{max-width:34rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin:0 0 .75rem}p{margin:.5rem 0}"
    "a{color:#0550ae}a:focus,button:focus,input:focus{outline:3px solid #0969da;outline-offset:2px}"
    "label{display:block;margin:.75rem 0 .25rem;font-weight:600}"
    "input{width:100%;padding:.6rem;font:inherit;border:1px solid #8c959f;border-radius:6px}"
    "button,.button{display:inline-block;margin-top:1rem;padding:.6rem 1.2rem;font:inherit;"
    "color:#fff;background:#1f6feb;border:0;border-radius:6px;text-decoration:none;cursor:pointer}"
    ".error{color:#a40e26;font-weight:600}.muted{color:#57606a;font-size:.9rem;word-break:break-all}"
    "img.hero{max-width:100%;border-radius:8px}"
)
_FRAME_CSS: Final = (
    "html,body{height:100%;margin:0}body{display:flex;flex-direction:column;"
    "font:14px/1.4 system-ui,sans-serif}"
    ".bar{display:flex;gap:1rem;align-items:center;padding:.4rem .8rem;background:#f6f8fa;"
    "border-bottom:1px solid #d0d7de}.bar a{color:#0550ae}"
    "iframe{flex:1;width:100%;border:0}"
    ".overlay{position:fixed;z-index:10;max-width:24rem;margin:1rem;padding:1rem 1.2rem;"
    "border-radius:10px;box-shadow:0 4px 16px rgba(0,0,0,.25);background:#fff;color:#1f2328}"
    ".overlay.top{top:2.5rem;left:0;right:0;margin:1rem auto}"
    ".overlay.bottom{bottom:0;left:0;right:0;margin:1rem auto}"
    ".overlay.top-left{top:2.5rem;left:0}.overlay.top-right{top:2.5rem;right:0}"
    ".overlay.bottom-left{bottom:0;left:0}.overlay.bottom-right{bottom:0;right:0}"
    ".overlay h2{font-size:1.1rem;margin:0 0 .4rem}"
    ".overlay label{display:block;margin:.4rem 0 .1rem;font-weight:600}"
    ".overlay input{width:100%;padding:.4rem;font:inherit;border:1px solid #8c959f;"
    "border-radius:6px}"
    ".overlay button,.overlay .button{display:inline-block;margin-top:.6rem;padding:.4rem 1rem;"
    "font:inherit;color:#fff;background:#1f6feb;border:0;border-radius:6px;"
    "text-decoration:none;cursor:pointer}"
)


def nonce() -> str:
    return secrets.token_urlsafe(12)


def csp(*, script_nonce: str | None = None, frames: bool = False, pixels: bool = False) -> str:
    """The Content-Security-Policy of a page: nothing runs but what it carries."""
    parts = [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src https: http: data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    if pixels and script_nonce:
        # Providers' loaders add their own scripts: trust what our nonce'd snippets load.
        parts += [
            f"script-src 'nonce-{script_nonce}' 'strict-dynamic' https:",
            "connect-src https:",
        ]
    elif script_nonce:
        parts.append(f"script-src 'nonce-{script_nonce}'")
    if frames or pixels:
        parts.append("frame-src http: https:")
    return "; ".join(parts)


def respond(
    status: int,
    document: str,
    *,
    policy: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    response = web.Response(status=status, text=document, content_type=HTML, charset="utf-8")
    h = response.headers
    h["Cache-Control"] = NO_STORE
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer-when-downgrade"
    h["Content-Security-Policy"] = policy or csp()
    if headers:
        h.update(headers)
    return response


def document(title: str, body: str, *, head: str = "", style: str = _CSS) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title>'
        f"<style>{style}</style>{head}</head><body>{body}</body></html>"
    )


def _message(title: str, text: str, extra: str = "") -> str:
    return document(title, f"<main><h1>{escape(title)}</h1><p>{escape(text)}</p>{extra}</main>")


# -- plain pages ---------------------------------------------------------------


def home_page() -> web.Response:
    return respond(
        200,
        _message(
            "Short links",
            "This address serves short links. Open a short link to be taken to its destination.",
        ),
    )


def not_found_page() -> web.Response:
    return respond(
        404,
        _message("Link not found", "There is no short link at this address. Check it for typos."),
    )


def expired_page() -> web.Response:
    return respond(
        410, _message("Link expired", "This short link has expired and no longer works.")
    )


def unavailable_page() -> web.Response:
    return respond(
        503,
        _message("Temporarily unavailable", "Please try again in a moment."),
        headers={"Retry-After": "5"},
    )


def method_not_allowed_page() -> web.Response:
    return respond(
        405,
        _message("Not allowed", "This address only answers GET requests."),
        headers={"Allow": "GET, HEAD"},
    )


def too_many_attempts_page(retry_after: int) -> web.Response:
    return respond(
        429,
        _message(
            "Too many attempts",
            f"Too many wrong passwords. Please try again in {max(1, retry_after // 60)} minute(s).",
        ),
        headers={"Retry-After": str(max(1, retry_after))},
    )


def message_page(status: int, title: str, text: str, back: str | None = None) -> web.Response:
    extra = f'<p><a href="{escape(back)}">Go back</a></p>' if back else ""
    return respond(status, _message(title, text, extra))


# -- the password form ---------------------------------------------------------


def password_page(
    action: str, token: str, *, error: str | None = None, status: int = 200
) -> web.Response:
    alert = f'<p class="error" role="alert" id="pw-error">{escape(error)}</p>' if error else ""
    described = ' aria-describedby="pw-error" aria-invalid="true"' if error else ""
    body = (
        "<main><h1>Password required</h1>"
        "<p>This link is protected. Enter its password to continue.</p>"
        f"{alert}"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="csrf" value="{escape(token)}">'
        '<label for="pw">Password</label>'
        f'<input id="pw" name="password" type="password" required autocomplete="current-password"'
        f" autofocus{described}>"
        '<button type="submit">Continue</button></form></main>'
    )
    return respond(status, document("Password required", body))


# -- pages on the way to the destination -----------------------------------------


def _pixel_parts(entry: LinkEntry) -> tuple[str, str | None]:
    """The pixels' snippets and the nonce they run under (``None`` without pixels)."""
    if not entry.pixels:
        return "", None
    n = nonce()
    return render_pixels(entry.pixels, n), n


def pixel_page(entry: LinkEntry, destination: str) -> web.Response:
    snippets, n = _pixel_parts(entry)
    n = n or nonce()
    url = escape(destination)
    head = f'<meta http-equiv="refresh" content="2;url={url}">'
    body = (
        "<main><h1>Redirecting…</h1>"
        f'<p>You are being taken to <a href="{url}">{url}</a>.</p></main>'
        f"{snippets}"
        f'<script nonce="{n}">setTimeout(function(){{location.replace({js_string(destination)})}},'
        "800);</script>"
    )
    return respond(
        200, document("Redirecting…", body, head=head), policy=csp(script_nonce=n, pixels=True)
    )


def frame_page(entry: LinkEntry, destination: str) -> web.Response:
    snippets, n = _pixel_parts(entry)
    url = escape(destination)
    title = entry.meta.title if entry.meta and entry.meta.title else destination
    body = (
        f'<div class="bar"><a href="{url}" target="_top" rel="noopener">Open the page directly</a>'
        f'<span class="muted">{escape(destination)}</span></div>'
        f'<iframe src="{url}" title="{escape(title)}"></iframe>{snippets}'
    )
    return respond(
        200,
        document(title, body, style=_FRAME_CSS),
        policy=csp(script_nonce=n, frames=True, pixels=bool(n)),
    )


def splash_page(entry: LinkEntry, destination: str, splash: Splash | None) -> web.Response:
    snippets, n = _pixel_parts(entry)
    n = n or nonce()
    delay = splash.delay if splash else 5
    url = escape(destination)
    title = (splash.title if splash else None) or "You are about to leave"
    parts = [f"<main><h1>{escape(title)}</h1>"]
    if splash and splash.image:
        parts.append(f'<img class="hero" src="{escape(splash.image)}" alt="">')
    if splash and splash.message:
        parts.append(f"<p>{escape(splash.message)}</p>")
    if splash and splash.button_url:
        parts.append(
            f'<p><a class="button" href="{escape(splash.button_url)}" rel="noopener">'
            f"{escape(splash.button_text or 'Learn more')}</a></p>"
        )
    parts.append(
        f'<p role="status">You will be redirected in <span id="count">{delay}</span> seconds.</p>'
        f'<p><a href="{url}">Continue now</a></p><p class="muted">{url}</p></main>'
    )
    parts.append(snippets)
    parts.append(
        f'<script nonce="{n}">(function(){{var s={delay},c=document.getElementById("count");'
        "var t=setInterval(function(){s--;if(s<=0){clearInterval(t);"
        f"location.replace({js_string(destination)});}}else{{c.textContent=s;}}}},1000);}})();"
        "</script>"
    )
    head = f'<meta http-equiv="refresh" content="{delay};url={url}">'
    return respond(
        200,
        document(title, "".join(parts), head=head),
        policy=csp(script_nonce=n, pixels=bool(entry.pixels)),
    )


def _overlay_style(overlay: Overlay) -> str:
    c = overlay.colors
    rules = []
    if "bg" in c:
        rules.append(f"background:{c['bg']}")
    if "text" in c:
        rules.append(f"color:{c['text']}")
    if "border" in c:
        rules.append(f"border:2px solid {c['border']}")
    return ";".join(rules)


def _overlay_button_style(overlay: Overlay) -> str:
    c = overlay.colors
    rules = []
    if "button" in c:
        rules.append(f"background:{c['button']}")
    if "button_text" in c:
        rules.append(f"color:{c['button_text']}")
    return ";".join(rules)


def overlay_page(entry: LinkEntry, destination: str, action: str, token: str) -> web.Response:
    overlay = entry.overlay
    assert overlay is not None
    snippets, n = _pixel_parts(entry)
    url = escape(destination)
    button_style = escape(_overlay_button_style(overlay))
    box = [
        f'<aside class="overlay {overlay.position}" style="{escape(_overlay_style(overlay))}"'
        f' aria-label="{escape(overlay.name or "Message")}">'
    ]
    if overlay.name:
        box.append(f"<h2>{escape(overlay.name)}</h2>")
    if overlay.text:
        box.append(f"<p>{escape(overlay.text)}</p>")
    if overlay.kind in ("contact", "newsletter"):
        fields = [
            ("name", "Name", "text", "name", False),
            ("email", "Email", "email", "email", True),
        ]
        if overlay.kind == "contact":
            fields = [
                ("name", "First name", "text", "given-name", False),
                ("surname", "Last name", "text", "family-name", False),
                ("email", "Email", "email", "email", True),
                ("gsm", "Phone", "tel", "tel", False),
            ]
        box.append(f'<form method="post" action="{escape(action)}">')
        box.append(f'<input type="hidden" name="csrf" value="{escape(token)}">')
        for name, label, kind, autocomplete, required in fields:
            box.append(
                f'<label for="ov-{name}">{label}</label><input id="ov-{name}" name="{name}"'
                f' type="{kind}" autocomplete="{autocomplete}" maxlength="200"'
                f"{' required' if required else ''}>"
            )
        box.append(
            f'<button type="submit" style="{button_style}">'
            f"{escape(overlay.button_text or 'Subscribe')}</button></form>"
        )
    elif overlay.button_url:
        box.append(
            f'<a class="button" href="{escape(overlay.button_url)}" target="_top" rel="noopener"'
            f' style="{button_style}">{escape(overlay.button_text or "Learn more")}</a>'
        )
    box.append("</aside>")
    title = entry.meta.title if entry.meta and entry.meta.title else destination
    body = (
        f'<div class="bar"><a href="{url}" target="_top" rel="noopener">Open the page directly</a>'
        f'</div><iframe src="{url}" title="{escape(title)}"></iframe>{"".join(box)}{snippets}'
    )
    return respond(
        200,
        document(title, body, style=_FRAME_CSS),
        policy=csp(script_nonce=n, frames=True, pixels=bool(n)),
    )


# -- crawlers --------------------------------------------------------------------


def meta_page(entry: LinkEntry, short_url: str, destination: str | None) -> web.Response:
    """What a social preview bot sees: the link's own title, description and image."""
    meta = entry.meta
    assert meta is not None
    title = meta.title or short_url
    tags = [
        '<meta property="og:type" content="website">',
        f'<meta property="og:url" content="{escape(short_url)}">',
        f'<meta property="og:title" content="{escape(title)}">',
        f'<meta name="twitter:title" content="{escape(title)}">',
        '<meta name="twitter:card" content="'
        + ("summary_large_image" if meta.image else "summary")
        + '">',
    ]
    if meta.description:
        tags.append(f'<meta property="og:description" content="{escape(meta.description)}">')
        tags.append(f'<meta name="twitter:description" content="{escape(meta.description)}">')
        tags.append(f'<meta name="description" content="{escape(meta.description)}">')
    if meta.image:
        tags.append(f'<meta property="og:image" content="{escape(meta.image)}">')
        tags.append(f'<meta name="twitter:image" content="{escape(meta.image)}">')
    body = [f"<main><h1>{escape(title)}</h1>"]
    if meta.description:
        body.append(f"<p>{escape(meta.description)}</p>")
    if destination:
        body.append(f'<p><a href="{escape(destination)}">{escape(destination)}</a></p>')
    body.append("</main>")
    return respond(200, document(title, "".join(body), head="".join(tags)))
