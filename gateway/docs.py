"""``/api/docs``: the OpenAPI document as one self-contained, accessible HTML page.

Rendered once at startup on the server: no scripts, no fonts or styles from
elsewhere, semantic headings and tables, a skip link, visible focus, method
names written out (never colour alone)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any, Final

import orjson

from gateway.openapi import HTTP_METHODS

MAX_DEPTH: Final = 6

STYLE: Final = """
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;
--code:#f6f8fa;--link:#0550ae;--get:#0a5e2a;--post:#0550ae;--put:#7d4e00;--delete:#a40e26;
--patch:#6639ba}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9da7b3;
--line:#30363d;--code:#161b22;--link:#79c0ff;--get:#56d364;--post:#79c0ff;--put:#e3b341;
--delete:#ff7b72;--patch:#d2a8ff}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
a{color:var(--link)}
a:focus-visible,summary:focus-visible{outline:3px solid var(--link);outline-offset:2px}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:var(--bg);
padding:.5rem 1rem;z-index:10}
header,main{max-width:72rem;margin:0 auto;padding:1rem 1.5rem}
header{border-bottom:1px solid var(--line)}
.layout{display:grid;grid-template-columns:17rem 1fr;gap:2rem;max-width:90rem;margin:0 auto}
nav{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;
padding:1rem 0 1rem 1.5rem;font-size:.9rem}
nav ul{list-style:none;padding-left:.75rem;margin:.25rem 0}
nav>ul{padding-left:0}
@media (max-width:60rem){.layout{grid-template-columns:1fr}nav{position:static;max-height:none}}
h1{font-size:1.8rem;margin:.5rem 0}h2{font-size:1.45rem;margin-top:2.5rem;
border-bottom:1px solid var(--line);padding-bottom:.25rem}h3{font-size:1.15rem;margin-top:2rem}
h4{font-size:1rem;margin:1.25rem 0 .5rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{background:var(--code);padding:.75rem 1rem;overflow:auto;border-radius:6px;
border:1px solid var(--line)}
:not(pre)>code{background:var(--code);padding:.1em .3em;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid var(--line);padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:var(--code)}
.op{border:1px solid var(--line);border-radius:8px;padding:0 1.25rem 1rem;margin:1.5rem 0}
.method{display:inline-block;min-width:4.5rem;font-weight:700;font-family:ui-monospace,monospace;
text-transform:uppercase}
.m-get{color:var(--get)}.m-post{color:var(--post)}.m-put{color:var(--put)}
.m-delete{color:var(--delete)}.m-patch{color:var(--patch)}
.muted{color:var(--muted)}.req{font-weight:600}
details{margin:.5rem 0}summary{cursor:pointer}
"""


def anchor(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def _md(text: str) -> str:
    """The little Markdown the document uses: `code` spans and paragraphs."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for paragraph in paragraphs:
        html = escape(paragraph)
        html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
        out.append(f"<p>{html}</p>")
    return "".join(out)


def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


class Renderer:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.doc = document
        self.components = document.get("components", {})

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in node and seen < 10:
            target: Any = self.doc
            for part in str(node["$ref"]).lstrip("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            node = target if isinstance(target, Mapping) else {}
            seen += 1
        return node

    # -- schemas -----------------------------------------------------------

    def type_of(self, schema: Mapping[str, Any]) -> str:
        if "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            return f'<a href="#{anchor("schema", name)}">{escape(name)}</a>'
        if "const" in schema:
            return f"<code>{escape(orjson.dumps(schema['const']).decode())}</code>"
        for combinator, word in (("oneOf", "one of"), ("anyOf", "any of"), ("allOf", "all of")):
            if combinator in schema:
                parts = " | ".join(self.type_of(s) for s in schema[combinator])
                return f"{word}: {parts}"
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind else []
        words = []
        for k in kinds:
            if k == "array":
                words.append(f"array of {self.type_of(schema.get('items', {}))}")
            else:
                words.append(escape(str(k)))
        text = " or ".join(words) or "any"
        if "format" in schema:
            text += f" ({escape(str(schema['format']))})"
        if "enum" in schema:
            values = ", ".join(
                f"<code>{escape(orjson.dumps(v).decode())}</code>" for v in schema["enum"]
            )
            text += f": one of {values}"
        return text

    def notes(self, schema: Mapping[str, Any]) -> str:
        bits = []
        if schema.get("description"):
            bits.append(_inline(str(schema["description"])))
        for key, word in (
            ("default", "Default"),
            ("minimum", "Minimum"),
            ("maximum", "Maximum"),
            ("minLength", "Minimum length"),
            ("maxLength", "Maximum length"),
            ("pattern", "Pattern"),
        ):
            if key in schema:
                bits.append(f"{word}: <code>{escape(orjson.dumps(schema[key]).decode())}</code>")
        return " ".join(bits)

    def properties(
        self, schema: Mapping[str, Any], depth: int = 0
    ) -> list[tuple[str, Mapping[str, Any], bool]]:
        """The fields of an object schema (following allOf), as (name, schema, required)."""
        schema = schema if "$ref" not in schema or depth else self.resolve(schema)
        found: list[tuple[str, Mapping[str, Any], bool]] = []
        for part in schema.get("allOf", ()):
            found += self.properties(self.resolve(part), depth + 1)
        required = set(schema.get("required", ()))
        for name, sub in schema.get("properties", {}).items():
            found.append((name, sub, name in required))
        return found

    def fields_table(self, schema: Mapping[str, Any], caption: str, depth: int = 0) -> str:
        fields = self.properties(schema)
        if not fields:
            return f"<p>{caption}: {self.type_of(schema)}</p>"
        rows = []
        for name, sub, required in fields:
            nested = ""
            inner = (
                sub
                if "$ref" in sub
                else sub.get("items", sub)
                if sub.get("type") == "array"
                else sub
            )
            if depth < MAX_DEPTH and "$ref" not in inner and self.properties(inner):
                nested = self.fields_table(inner, f"Fields of {name}", depth + 1)
            req = '<span class="req">required</span>' if required else "optional"
            rows.append(
                f'<tr><th scope="row"><code>{escape(name)}</code></th>'
                f"<td>{self.type_of(sub)}</td><td>{req}</td>"
                f"<td>{self.notes(sub)}{nested}</td></tr>"
            )
        return (
            f"<table><caption>{escape(caption)}</caption><thead><tr>"
            '<th scope="col">Field</th><th scope="col">Type</th>'
            '<th scope="col">Required</th><th scope="col">Description</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    @staticmethod
    def example(value: Any, label: str) -> str:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
        return (
            f"<details><summary>{escape(label)}</summary>"
            f"<pre><code>{escape(text)}</code></pre></details>"
        )

    # -- operations ----------------------------------------------------------

    def parameters(self, params: Iterable[Mapping[str, Any]]) -> str:
        rows = []
        for raw in params:
            p = self.resolve(raw)
            req = '<span class="req">required</span>' if p.get("required") else "optional"
            schema = p.get("schema", {})
            rows.append(
                f'<tr><th scope="row"><code>{escape(str(p.get("name", "")))}</code></th>'
                f"<td>{escape(str(p.get('in', '')))}</td>"
                f"<td>{self.type_of(schema)}</td><td>{req}</td>"
                f"<td>{_inline(str(p.get('description', '')))} {self.notes(schema)}</td></tr>"
            )
        if not rows:
            return ""
        return (
            "<table><caption>Parameters</caption><thead><tr>"
            '<th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th>'
            '<th scope="col">Required</th><th scope="col">Description</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    def media(self, content: Mapping[str, Any], label: str) -> str:
        out = []
        for media_type, media in content.items():
            schema = media.get("schema", {})
            out.append(f'<p class="muted">{escape(media_type)}</p>')
            if media_type.endswith("json"):
                out.append(self.fields_table(schema, label))
            example = media.get("example")
            if example is None:
                examples = self.resolve(schema).get("examples")
                example = examples[0] if examples else None
            if example is not None:
                out.append(self.example(example, f"Example ({label.lower()})"))
        return "".join(out)

    def responses(self, responses: Mapping[str, Any]) -> str:
        rows = []
        bodies = []
        for status, raw in responses.items():
            r = self.resolve(raw)
            description = _inline(str(r.get("description", "")))
            if "$ref" in raw:
                name = str(raw["$ref"]).rsplit("/", 1)[-1]
                description += f' <span class="muted">({escape(name)})</span>'
            rows.append(f'<tr><th scope="row">{escape(status)}</th><td>{description}</td></tr>')
            if status.startswith("2") and r.get("content"):
                bodies.append(self.media(r["content"], f"Answer {status}"))
        return (
            '<h4>Answers</h4><table><caption class="muted">Status codes</caption><thead><tr>'
            '<th scope="col">Status</th><th scope="col">Meaning</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{''.join(bodies)}"
        )

    def operation(self, path: str, method: str, op: Mapping[str, Any]) -> str:
        ident = anchor("op", method, path)
        summary = escape(str(op.get("summary", "")))
        auth = (
            "No authentication."
            if op.get("security") == [] or not path.startswith("/api/")
            else "Requires <code>Authorization: Bearer &lt;API key&gt;</code>."
        )
        parts = [
            f'<section class="op" id="{ident}" aria-labelledby="{ident}-h">',
            f'<h3 id="{ident}-h"><span class="method m-{method}">{method.upper()}</span> '
            f"<code>{escape(path)}</code></h3>",
            f"<p><strong>{summary}</strong></p>" if summary else "",
            _md(str(op["description"])) if op.get("description") else "",
            f'<p class="muted">{auth}</p>',
            self.parameters(op.get("parameters", ())),
        ]
        body = op.get("requestBody")
        if body:
            b = self.resolve(body)
            required = " (required)" if b.get("required") else " (optional)"
            parts.append(f"<h4>Request body{required}</h4>")
            parts.append(self.media(b.get("content", {}), "Request body"))
        parts.append(self.responses(op.get("responses", {})))
        parts.append("</section>")
        return "".join(parts)

    # -- the page --------------------------------------------------------------

    def by_tag(self) -> list[tuple[str, str, list[tuple[str, str, Mapping[str, Any]]]]]:
        tags = [(t["name"], str(t.get("description", ""))) for t in self.doc.get("tags", ())]
        groups: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {n: [] for n, _ in tags}
        for path, item in self.doc.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    op = item[method]
                    tag = (op.get("tags") or ["Other"])[0]
                    groups.setdefault(tag, []).append((path, method, op))
        described = dict(tags)
        return [(name, described.get(name, ""), ops) for name, ops in groups.items() if ops]

    def page(self) -> str:
        info = self.doc.get("info", {})
        title = escape(str(info.get("title", "API")))
        groups = self.by_tag()
        nav = []
        sections = []
        for name, description, ops in groups:
            tag_id = anchor("tag", name)
            links = "".join(
                f'<li><a href="#{anchor("op", m, p)}">{m.upper()} {escape(p)}</a></li>'
                for p, m, _ in ops
            )
            nav.append(f'<li><a href="#{tag_id}">{escape(name)}</a><ul>{links}</ul></li>')
            body = "".join(self.operation(p, m, op) for p, m, op in ops)
            sections.append(
                f'<section aria-labelledby="{tag_id}"><h2 id="{tag_id}">{escape(name)}</h2>'
                f"{_md(description) if description else ''}{body}</section>"
            )
        schemas = self.components.get("schemas", {})
        schema_html = "".join(
            f'<section aria-labelledby="{anchor("schema", n)}-h" id="{anchor("schema", n)}">'
            f'<h3 id="{anchor("schema", n)}-h">{escape(n)}</h3>'
            f"{_md(str(s.get('description', ''))) if s.get('description') else ''}"
            f"{self.fields_table(s, f'Fields of {n}')}</section>"
            for n, s in schemas.items()
        )
        if schemas:
            nav.append('<li><a href="#schemas">Schemas</a></li>')
            sections.append(
                '<section aria-labelledby="schemas"><h2 id="schemas">Schemas</h2>'
                f"{schema_html}</section>"
            )
        version = escape(str(info.get("version", "")))
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title} reference</title><style>{STYLE}</style></head><body>"
            '<a class="skip" href="#main">Skip to the reference</a>'
            f'<header><h1>{title} <span class="muted">{version}</span></h1>'
            f"{_md(str(info.get('description', '')))}"
            '<p>Machine-readable: <a href="/api/openapi.json">OpenAPI 3.1 document</a>.</p>'
            "</header>"
            '<div class="layout"><nav aria-label="Endpoints"><ul>'
            f"{''.join(nav)}</ul></nav>"
            f'<main id="main" tabindex="-1">{"".join(sections)}</main></div></body></html>'
        )


def render_docs(document: Mapping[str, Any]) -> str:
    return Renderer(document).page()
