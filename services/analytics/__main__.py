"""``python -m services.analytics``: the stats API."""

from __future__ import annotations

from services.analytics.app import create_app
from shared.service import serve

if __name__ == "__main__":
    serve(create_app, name="analytics", port=lambda s: s.analytics_port)
