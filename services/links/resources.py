"""The user-owned resources served by the shared CRUD shape (``crud.py``).

Add a new resource here: ``app.py`` serves its routes and a deleted user's
objects of every resource listed here are deleted with their links."""

from __future__ import annotations

from typing import Final

from services.links.bio import BIO_PAGES
from services.links.campaigns import CAMPAIGNS
from services.links.channels import CHANNELS
from services.links.crud import Resource
from services.links.domains import DOMAINS
from services.links.overlays import OVERLAYS
from services.links.pixels import PIXELS
from services.links.qr.codes import QR_CODES
from services.links.splash import SPLASH_PAGES

RESOURCES: Final[tuple[Resource, ...]] = (
    DOMAINS,
    QR_CODES,
    PIXELS,
    SPLASH_PAGES,
    OVERLAYS,
    CHANNELS,
    CAMPAIGNS,
    BIO_PAGES,
)
