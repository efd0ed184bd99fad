"""Typed application keys of the edge (shared ones are in ``shared/appkeys.py``)."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from services.links.edge.broker import Broker
from services.links.edge.click_buffer import ClickBuffer
from services.links.edge.geoip import CountryReader
from services.links.edge.stats import EdgeStats
from services.links.edge.visits import Edge

BROKER = web.AppKey("edge_broker", Broker)
CLICKS = web.AppKey("edge_clicks", ClickBuffer)
STATS = web.AppKey("edge_stats", EdgeStats)
GEOIP = web.AppKey("edge_geoip", CountryReader)
EDGE = web.AppKey("edge", Edge)
ACCOUNTS_HTTP = web.AppKey("edge_accounts_http", aiohttp.ClientSession)
