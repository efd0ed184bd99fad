"""A tiny MaxMind DB writer: just enough of the format (IPv4 search tree, maps,
strings, unsigned integers) to give the edge a real GeoIP database in tests."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_: int, size: int) -> bytes:
    assert size < 29
    if type_ <= 7:
        return bytes([(type_ << 5) | size])
    return bytes([size, type_ - 7])  # extended type


class U32(int):
    """An integer the format wants as uint32 (readers check metadata types)."""


class U64(int):
    pass


def _encode(value: Any) -> bytes:
    if isinstance(value, U32 | U64):
        data = int(value).to_bytes(8, "big").lstrip(b"\0")
        return _control(6 if isinstance(value, U32) else 9, len(data)) + data
    if isinstance(value, str):
        data = value.encode()
        return _control(2, len(data)) + data
    if isinstance(value, dict):
        out = _control(7, len(value))
        for key, item in value.items():
            out += _encode(str(key)) + _encode(item)
        return out
    if isinstance(value, list):
        out = _control(11, len(value))
        for item in value:
            out += _encode(item)
        return out
    if isinstance(value, int):
        data = value.to_bytes(8, "big").lstrip(b"\0")
        type_ = 5 if value < 1 << 16 else 6
        return _control(type_, len(data)) + data
    raise TypeError(type(value))


def write_country_db(path: Path, networks: dict[str, str]) -> None:
    """A GeoLite2-Country-like database mapping each IPv4 network to an ISO code."""
    data = b""
    offsets: dict[str, int] = {}
    for code in sorted(set(networks.values())):
        offsets[code] = len(data)
        data += _encode({"country": {"iso_code": code, "names": {"en": code}}})

    # nodes[i] = [left, right]; None: no data yet; ("node", n) or ("data", code).
    nodes: list[list[Any]] = [[None, None]]
    for cidr, code in networks.items():
        net = ipaddress.IPv4Network(cidr)
        bits = format(int(net.network_address), "032b")[: net.prefixlen]
        node = 0
        for depth, bit in enumerate(bits):
            side = int(bit)
            if depth == len(bits) - 1:
                nodes[node][side] = ("data", code)
                break
            target = nodes[node][side]
            if target is None:
                nodes.append([None, None])
                target = nodes[node][side] = ("node", len(nodes) - 1)
            node = target[1]
    count = len(nodes)

    def record(value: Any) -> int:
        if value is None:
            return count
        kind, ref = value
        return ref if kind == "node" else count + 16 + offsets[ref]

    tree = b"".join(
        struct.pack(">I", record(left))[1:] + struct.pack(">I", record(right))[1:]
        for left, right in nodes
    )
    metadata = {
        "node_count": U32(count),
        "record_size": 24,
        "ip_version": 4,
        "database_type": "Test-Country",
        "languages": ["en"],
        "binary_format_major_version": 2,
        "binary_format_minor_version": 0,
        "build_epoch": U64(1_700_000_000),
        "description": {"en": "edge tests"},
    }
    path.write_bytes(tree + b"\0" * 16 + data + _MARKER + _encode(metadata))
