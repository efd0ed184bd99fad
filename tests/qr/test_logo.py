"""Fetching logos: from a URL (a real local web server), never from private
addresses unless allowed, and from paths only inside QR_LOGO_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.links.qr.colors import DEFAULT_BACKGROUND, DEFAULT_FOREGROUND
from services.links.qr.logo import fetch_logo
from services.links.qr.render import render_png
from shared.envelope import BadRequest
from shared.safe_fetch import SafeFetcher
from shared.settings import Settings
from tests.qr import images
from tests.qr.conftest import BAD_LOGOS, LogoServer
from tests.qr.scan import assert_carries

PAYLOAD = "https://example.com/logo"


def public_only(settings: Settings) -> Settings:
    return settings.with_overrides(allow_private_fetch=False)


@pytest.mark.parametrize("path", ["/logo.png", "/logo.jpg", "/octet/logo"])
async def test_a_logo_served_over_http_is_fetched_and_the_code_decodes(
    settings: Settings, logo_server: LogoServer, path: str
) -> None:
    assert settings.allow_private_fetch  # the test server listens on loopback
    logo = await fetch_logo(logo_server.url(path), settings)
    assert logo == (images.logo("JPEG") if path.endswith(".jpg") else images.logo("PNG"))
    image = render_png(PAYLOAD, size=600, fg=DEFAULT_FOREGROUND, bg=DEFAULT_BACKGROUND, logo=logo)
    assert assert_carries(image, PAYLOAD).ec_level == "H"
    assert logo_server.hits == [path]


async def test_a_shared_fetcher_can_be_passed_in(
    settings: Settings, logo_server: LogoServer
) -> None:
    async with SafeFetcher(allow_private=True) as fetcher:
        logo = await fetch_logo(logo_server.url("/logo.png"), settings, fetcher=fetcher)
    assert logo == images.logo("PNG")


@pytest.mark.parametrize(("path", "message"), BAD_LOGOS)
async def test_a_bad_logo_url_is_a_400(
    settings: Settings, logo_server: LogoServer, path: str, message: str
) -> None:
    with pytest.raises(BadRequest) as info:
        await fetch_logo(logo_server.url(path), settings)
    assert info.value.status == 400
    assert message in info.value.message


async def test_an_unreachable_logo_url_is_a_400(settings: Settings) -> None:
    with pytest.raises(BadRequest, match="could not be fetched"):
        await fetch_logo("http://127.0.0.1:1/logo.png", settings)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "10.1.2.3", "192.168.0.1", "169.254.169.254", "0.0.0.0"],
)
async def test_a_logo_on_a_private_address_is_a_400_when_private_fetch_is_off(
    settings: Settings, logo_server: LogoServer, host: str
) -> None:
    port = logo_server.base_url.rsplit(":", 1)[1]
    with pytest.raises(BadRequest) as info:
        await fetch_logo(f"http://{host}:{port}/logo.png", public_only(settings))
    assert info.value.status == 400
    assert "not a public address" in info.value.message
    assert logo_server.hits == []  # refused before any connection


async def test_a_redirect_to_a_private_address_is_refused(
    settings: Settings, logo_server: LogoServer
) -> None:
    # Allowed to reach the first hop only through a policy that admits the
    # server's own address, then redirected to a private one.
    target = "http://10.0.0.7/logo.png"
    with pytest.raises(BadRequest, match="not a public address"):
        async with SafeFetcher(policy=lambda a: str(a) == "127.0.0.1") as fetcher:
            await fetch_logo(logo_server.url(f"/redirect?to={target}"), settings, fetcher=fetcher)
    assert logo_server.hits == ["/redirect"]


@pytest.mark.parametrize(
    "source",
    ["ftp://example.com/logo.png", "file:///etc/passwd", "data:image/png;base64,AAAA", "", 42],
)
async def test_a_logo_source_that_is_not_a_url_or_path_is_a_400(
    settings: Settings, source: object
) -> None:
    with pytest.raises(BadRequest, match="'logo'"):
        await fetch_logo(source, settings)


@pytest.fixture
def logo_dir(tmp_path: Path) -> Path:
    root = tmp_path / "logos"
    (root / "brand").mkdir(parents=True)
    (root / "brand" / "acme.png").write_bytes(images.logo("PNG"))
    (root / "acme.jpg").write_bytes(images.logo("JPEG"))
    (root / "anim.gif").write_bytes(images.logo("GIF"))
    (root / "huge.png").write_bytes(images.noise_png(2 * 1024 * 1024 + 1))
    (tmp_path / "secret.png").write_bytes(images.logo("PNG"))
    os.symlink(tmp_path / "secret.png", root / "escape.png")
    os.mkfifo(root / "pipe.png")
    return root


async def test_a_logo_path_inside_the_logo_directory_is_read(
    settings: Settings, logo_dir: Path
) -> None:
    configured = settings.with_overrides(qr_logo_dir=str(logo_dir))
    assert await fetch_logo("brand/acme.png", configured) == images.logo("PNG")
    assert await fetch_logo("acme.jpg", configured) == images.logo("JPEG")
    assert await fetch_logo(str(logo_dir / "acme.jpg"), configured) == images.logo("JPEG")
    assert await fetch_logo("brand/../acme.jpg", configured) == images.logo("JPEG")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("../secret.png", "inside the logo directory"),
        ("brand/../../secret.png", "inside the logo directory"),
        ("/etc/passwd", "inside the logo directory"),
        ("escape.png", "inside the logo directory"),  # a symlink pointing out
        (".", "inside the logo directory"),
        ("brand", "does not name a file"),
        ("pipe.png", "does not name a file"),
        ("nothing.png", "does not exist"),
        ("anim.gif", "must be a PNG or JPEG"),
        ("huge.png", "at most 2 MB"),
        ("bad\x00name.png", "not a readable logo path"),
    ],
)
async def test_a_bad_logo_path_is_a_400(
    settings: Settings, logo_dir: Path, source: str, message: str
) -> None:
    configured = settings.with_overrides(qr_logo_dir=str(logo_dir))
    with pytest.raises(BadRequest) as info:
        await fetch_logo(source, configured)
    assert info.value.status == 400
    assert message in info.value.message
    assert str(logo_dir) not in info.value.message


async def test_logo_paths_are_refused_when_no_logo_directory_is_configured(
    settings: Settings, logo_dir: Path
) -> None:
    assert settings.qr_logo_dir is None
    with pytest.raises(BadRequest, match="logos from paths are not enabled"):
        await fetch_logo(str(logo_dir / "acme.jpg"), settings)
