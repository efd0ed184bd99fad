"""``python -m services.links``: the links service."""

from __future__ import annotations

from services.links.app import create_app
from shared.service import serve

if __name__ == "__main__":
    serve(create_app, name="links", port=lambda s: s.links_port)
