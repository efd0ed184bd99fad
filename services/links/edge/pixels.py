"""Each tracking provider's standard snippet, with the pixel's tag as its only
dynamic value. Tags were checked to be plain ids (``entries.PIXEL_TAG_RE``) and
are still written as escaped JS strings / HTML attributes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Final
from urllib.parse import quote

import orjson

from services.links.edge.entries import Pixel


def js_string(value: str) -> str:
    """A JSON string literal that cannot end the ``<script>`` element it is in."""
    return (
        orjson.dumps(value)
        .decode()
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _script(nonce: str, body: str) -> str:
    return f'<script nonce="{nonce}">{body}</script>'


def _noscript_img(src: str) -> str:
    return (
        f'<noscript><img height="1" width="1" style="display:none" alt="" '
        f'src="{escape(src)}"></noscript>'
    )


def _fb(tag: str, n: str) -> str:
    return _script(
        n,
        "!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?"
        "n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;"
        "n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;"
        "t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,"
        "document,'script','https://connect.facebook.net/en_US/fbevents.js');"
        f"fbq('init',{js_string(tag)});fbq('track','PageView');",
    ) + _noscript_img(f"https://www.facebook.com/tr?id={quote(tag)}&ev=PageView&noscript=1")


def _gtag(tag: str, n: str) -> str:
    return (
        f'<script nonce="{n}" async '
        f'src="https://www.googletagmanager.com/gtag/js?id={escape(quote(tag))}"></script>'
        + _script(
            n,
            "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
            f"gtag('js',new Date());gtag('config',{js_string(tag)});",
        )
    )


def _gtm(tag: str, n: str) -> str:
    return _script(
        n,
        "(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),"
        "event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),"
        "dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src="
        "'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);"
        f"}})(window,document,'script','dataLayer',{js_string(tag)});",
    )


def _linkedin(tag: str, n: str) -> str:
    return _script(
        n,
        f"window._linkedin_partner_id={js_string(tag)};"
        "window._linkedin_data_partner_ids=window._linkedin_data_partner_ids||[];"
        "window._linkedin_data_partner_ids.push(window._linkedin_partner_id);"
        "(function(l){var s=document.getElementsByTagName('script')[0];"
        "var b=document.createElement('script');b.type='text/javascript';b.async=true;"
        "b.src='https://snap.licdn.com/li.lms-analytics/insight.min.js';"
        "s.parentNode.insertBefore(b,s);})(window.lintrk);",
    ) + _noscript_img(f"https://px.ads.linkedin.com/collect/?pid={quote(tag)}&fmt=gif")


def _twitter(tag: str, n: str) -> str:
    return _script(
        n,
        "!function(e,t,n,s,u,a){e.twq||(s=e.twq=function(){s.exe?s.exe.apply(s,arguments):"
        "s.queue.push(arguments);},s.version='1.1',s.queue=[],u=t.createElement(n),u.async=!0,"
        "u.src='https://static.ads-twitter.com/uwt.js',a=t.getElementsByTagName(n)[0],"
        "a.parentNode.insertBefore(u,a))}(window,document,'script');"
        f"twq('config',{js_string(tag)});",
    )


def _adroll(tag: str, n: str) -> str:
    advertiser, _, pixel = tag.replace(":", "/").partition("/")
    return _script(
        n,
        f"window.adroll_adv_id={js_string(advertiser)};window.adroll_pix_id={js_string(pixel)};"
        "window.adroll_version='2.0';(function(w,d,e,o,a){w.__adroll_loaded=true;"
        "w.adroll=w.adroll||[];w.adroll.f=['setProperties','identify','track'];"
        "var r='https://s.adroll.com/j/'+w.adroll_adv_id+'/roundtrip.js';"
        "for(a=0;a<w.adroll.f.length;a++){w.adroll[w.adroll.f[a]]=w.adroll[w.adroll.f[a]]||"
        "(function(n){return function(){w.adroll.push([n,arguments])}})(w.adroll.f[a])}"
        "e=d.createElement('script');o=d.getElementsByTagName('script')[0];e.async=1;e.src=r;"
        "o.parentNode.insertBefore(e,o);})(window,document);",
    )


def _quora(tag: str, n: str) -> str:
    return _script(
        n,
        "!function(q,e,v,n,t,s){if(q.qp)return;n=q.qp=function(){n.qp?n.qp.apply(n,arguments):"
        "n.queue.push(arguments);};n.queue=[];t=document.createElement(e);t.async=!0;t.src=v;"
        "s=document.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s);}"
        "(window,'script','https://a.quora.com/qevents.js');"
        f"qp('init',{js_string(tag)});qp('track','ViewContent');",
    )


def _pinterest(tag: str, n: str) -> str:
    return _script(
        n,
        "!function(e){if(!window.pintrk){window.pintrk=function(){window.pintrk.queue.push("
        "Array.prototype.slice.call(arguments))};var n=window.pintrk;n.queue=[],n.version='3.0';"
        "var t=document.createElement('script');t.async=!0,t.src=e;"
        "var r=document.getElementsByTagName('script')[0];r.parentNode.insertBefore(t,r)}}"
        "('https://s.pinimg.com/ct/core.js');"
        f"pintrk('load',{js_string(tag)});pintrk('page');",
    )


def _bing(tag: str, n: str) -> str:
    return _script(
        n,
        "(function(w,d,t,r,u){var f,n,i;w[u]=w[u]||[],f=function(){var o={ti:"
        f"{js_string(tag)}"
        "};o.q=w[u],w[u]=new UET(o),w[u].push('pageLoad')},n=d.createElement(t),n.src=r,"
        "n.async=1,n.onload=n.onreadystatechange=function(){var s=this.readyState;"
        "s&&s!=='loaded'&&s!=='complete'||(f(),n.onload=n.onreadystatechange=null)},"
        "i=d.getElementsByTagName(t)[0],i.parentNode.insertBefore(n,i)})"
        "(window,document,'script','https://bat.bing.com/bat.js','uetq');",
    )


def _snapchat(tag: str, n: str) -> str:
    return _script(
        n,
        "(function(e,t,n){if(e.snaptr)return;var a=e.snaptr=function(){a.handleRequest?"
        "a.handleRequest.apply(a,arguments):a.queue.push(arguments)};a.queue=[];var s='script';"
        "var r=t.createElement(s);r.async=!0;r.src=n;var u=t.getElementsByTagName(s)[0];"
        "u.parentNode.insertBefore(r,u);})(window,document,'https://sc-static.net/scevent.min.js');"
        f"snaptr('init',{js_string(tag)},{{}});snaptr('track','PAGE_VIEW');",
    )


def _reddit(tag: str, n: str) -> str:
    return _script(
        n,
        "!function(w,d){if(!w.rdt){var p=w.rdt=function(){p.sendEvent?"
        "p.sendEvent.apply(p,arguments):p.callQueue.push(arguments)};p.callQueue=[];"
        "var t=d.createElement('script');t.src='https://www.redditstatic.com/ads/pixel.js',"
        "t.async=!0;var s=d.getElementsByTagName('script')[0];s.parentNode.insertBefore(t,s)}}"
        f"(window,document);rdt('init',{js_string(tag)});rdt('track','PageVisit');",
    )


SNIPPETS: Final[dict[str, Callable[[str, str], str]]] = {
    "fbpixel": _fb,
    "gapixel": _gtag,
    "adwordspixel": _gtag,
    "gtmpixel": _gtm,
    "linkedinpixel": _linkedin,
    "twitterpixel": _twitter,
    "adrollpixel": _adroll,
    "quorapixel": _quora,
    "pinterest": _pinterest,
    "bing": _bing,
    "snapchat": _snapchat,
    "reddit": _reddit,
}


def render_pixels(pixels: Sequence[Pixel], nonce: str) -> str:
    return "".join(SNIPPETS[p.kind](p.tag, nonce) for p in pixels if p.kind in SNIPPETS)
