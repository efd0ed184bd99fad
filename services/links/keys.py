"""Typed application keys of the links service (shared ones are in ``shared/appkeys.py``)."""

from __future__ import annotations

from aiohttp import web

from services.links.accounts_client import AccountsClient
from services.links.analytics_client import AnalyticsClient
from services.links.domain_verification import DomainVerifier
from services.links.titles import TitleFetcher
from shared.safe_fetch import SafeFetcher

ACCOUNTS = web.AppKey("accounts", AccountsClient)
ANALYTICS = web.AppKey("analytics", AnalyticsClient)
SAFE_FETCHER = web.AppKey("safe_fetcher", SafeFetcher)
DOMAIN_VERIFIER = web.AppKey("domain_verifier", DomainVerifier)
TITLES = web.AppKey("titles", TitleFetcher)
