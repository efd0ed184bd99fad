"""QR codes: payloads, colours, rendering, logos and the image cache.

What the links API and the edge call:

- ``payloads.parse_type`` / ``payloads.build_payload(type, data)``: the exact
  string a code carries; ``payloads.url_payload`` for a plain URL (a dynamic
  code's tracking URL, or its destination).
- ``colors.parse_colors(foreground, background)``: validated ``(r, g, b)``
  pair, readable by a phone.
- ``logo.fetch_logo(source, settings)``: the bytes of a PNG/JPEG logo from a
  URL (SSRF-safe) or a path inside ``QR_LOGO_DIR``; ``render.normalize_logo``
  makes them small enough to store with the code.
- ``render.ensure_fits(payload, with_logo=...)``: reject data too long for a QR code.
- ``cache.get_or_render(redis, settings, ImageSpec(...))``: PNG or SVG bytes,
  rendered in a worker thread on a miss, cached in Redis by content hash.

``codes.QR_CODES`` is the API itself (list, get, add, update, delete on the
shared CRUD shape), with the hidden backing link of dynamic ``link`` codes.

Every validation failure raises ``shared.envelope.BadRequest`` (400) with a
message naming the field.
"""
