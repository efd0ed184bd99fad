"""What a phone does with a QR image, done independently of the code under
test: decode the pixels (zxing-cpp), rasterise our SVG, and read the wifi,
vCard and mailto formats back into fields."""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, unquote, urlsplit

import zxingcpp
from PIL import Image, ImageDraw

SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_RUN_RE = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def decode(image: Image.Image, *, try_invert: bool = False) -> zxingcpp.Barcode:
    """The one QR code in ``image``. Inversion is off by default: a reader that
    does not look for light-on-dark codes must still read ours."""
    found = zxingcpp.read_barcodes(image, try_invert=try_invert)
    assert len(found) == 1, f"expected one QR code, found {len(found)}"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0]


def decode_png(data: bytes) -> zxingcpp.Barcode:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return decode(image)


def assert_carries(data: bytes, payload: str) -> zxingcpp.Barcode:
    """The PNG decodes to exactly ``payload``, byte for byte."""
    barcode = decode_png(data)
    assert barcode.bytes == payload.encode("utf-8")
    assert barcode.text == payload
    return barcode


def parse_svg(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - our own renderer's output, in a test


def rasterise_svg(data: bytes, *, scale: int = 8) -> Image.Image:
    """Draw the SVG's rects, module path and logo at ``scale`` px per unit."""
    root = parse_svg(data)
    _, _, width, height = (int(v) for v in root.attrib["viewBox"].split())
    image = Image.new("RGB", (width * scale, height * scale))
    draw = ImageDraw.Draw(image)
    for element in root:
        if element.tag == f"{SVG_NS}rect":
            x, y, w, h = (float(element.attrib[k]) for k in ("x", "y", "width", "height"))
            draw.rectangle(
                (x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1),
                fill=element.attrib["fill"],
            )
        elif element.tag == f"{SVG_NS}path":
            d = element.attrib["d"]
            runs = _RUN_RE.findall(d)
            assert "".join(f"M{x} {y}h{w}v1h-{w2}z" for x, y, w, w2 in runs) == d
            for x, y, w, _ in runs:
                x0, y0 = int(x) * scale, int(y) * scale
                draw.rectangle(
                    (x0, y0, x0 + int(w) * scale - 1, y0 + scale - 1), fill=element.attrib["fill"]
                )
        elif element.tag == f"{SVG_NS}image":
            href = element.attrib[XLINK_HREF]
            prefix = "data:image/png;base64,"
            assert href.startswith(prefix)
            logo = Image.open(io.BytesIO(base64.b64decode(href[len(prefix) :]))).convert("RGBA")
            x, y, w, h = (float(element.attrib[k]) for k in ("x", "y", "width", "height"))
            box = (round(w * scale), round(h * scale))
            logo.thumbnail(box)
            left = round(x * scale) + (box[0] - logo.width) // 2
            top = round(y * scale) + (box[1] - logo.height) // 2
            image.paste(logo, (left, top), logo)
        else:
            raise AssertionError(f"unexpected SVG element {element.tag}")
    return image


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_wifi(text: str) -> dict[str, str]:
    """A WIFI: payload as a phone reads it: fields split on unescaped ';'."""
    assert text.startswith("WIFI:")
    assert text.endswith(";;")
    fields: dict[str, str] = {}
    for part in re.findall(r"((?:[^;\\]|\\.)*);", text[len("WIFI:") : -1]):
        key, _, value = part.partition(":")
        fields[key] = _unescape(value)
    return fields


def parse_vcard(text: str) -> dict[str, str]:
    """Property name (parameters dropped) → unescaped value, per RFC 2426."""
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCARD"
    assert lines[-1] == "END:VCARD"
    props: dict[str, str] = {}
    for line in lines[1:-1]:
        assert "\n" not in line
        assert "\r" not in line
        name, _, value = line.partition(":")
        props[name.split(";", 1)[0]] = value
    return props


def vcard_text(value: str) -> str:
    """A vCard text value unescaped (``\\n`` → newline, ``\\x`` → x)."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def vcard_components(value: str) -> list[str]:
    """A structured value (N, ADR) split on unescaped ';', each part unescaped."""
    parts = [""]
    chars = iter(value)
    for char in chars:
        if char == "\\":
            parts[-1] += char + next(chars)
        elif char == ";":
            parts.append("")
        else:
            parts[-1] += char
    return [vcard_text(part) for part in parts]


def parse_mailto(text: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(text)
    assert parts.scheme == "mailto"
    return unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True))
