"""Customers' images in the inbox come through /inbox/media/<message id>/<n>: Messenger and
Instagram CDN URLs fetched as they are, WhatsApp media ids resolved with the channel's token and
downloaded WITH it; only real images (by their bytes), under the size cap, from Meta's hosts;
cached so an expired URL still shows; another tenant's message is a 404. Graph and the CDNs are
faked at the HTTP boundary with `responses`."""
from __future__ import annotations

import struct
import zlib

import pytest
import requests
import responses
from responses import matchers
from sqlalchemy import select

from app.clients import media as client
from app.extensions import db
from app.models import Channel, Message, Platform
from app.services import media
from tests import meta_payloads as mp

PNG = (b"\x89PNG\r\n\x1a\n" + b"".join(
    struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    for tag, data in [(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)),
                      (b"IDAT", zlib.compress(b"\x00\xff\x00\x00")), (b"IEND", b"")]))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>'
PAGE_ID = "page-A"
WA_NUMBER = "106540352242911"


def messenger_image(app, post_meta, url, mid="m_img1", psid="psid-media", kinds=("image",), obj="page",
                    account=PAGE_ID):
    item = mp.attachment(psid, account, mid, kinds[0], {"url": url})
    item["message"]["attachments"] += [{"type": k, "payload": {"url": url}} for k in kinds[1:]]
    post_meta(mp.messenger(account, item, obj=obj))
    return stored(app, mid)


def stored(app, external_id):
    """The stored message (its own app context: requests must not share one, nor its `g`)."""
    with app.app_context():
        msg = db.session.scalar(select(Message).where(Message.external_id == external_id))
        db.session.expunge(msg)
        db.session.remove()
        return msg


def add_channel(app, tenant_id, platform, external_id, token):
    with app.app_context():
        db.session.add(Channel(tenant_id=tenant_id, platform=platform, external_id=external_id,
                               name=f"{platform} media", access_token=token))
        db.session.commit()
        db.session.remove()


def cdn_calls(graph, host):
    return [c for c in graph.calls if host in c.request.url]


@pytest.fixture
def staff(browser):
    return browser("staff_a")


# ------------------------------------------------------------------ Messenger and Instagram


def test_a_messenger_image_is_served_from_our_origin_and_cached(world, app, graph, post_meta, staff):
    url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=abc"
    # the CDN's own Content-Type is not believed: the bytes say PNG
    graph.add(responses.GET, url, body=PNG, content_type="application/octet-stream")
    msg = messenger_image(app, post_meta, url)
    thread = staff.get(f"/inbox/c/{msg.conversation_id}/messages.json").json["messages"]
    assert thread[-1]["attachments"] == [{"type": "image", "url": url, "inline": True, "download": False}]

    resp = staff.get(f"/inbox/media/{msg.id}/0")
    assert resp.status_code == 200 and resp.data == PNG
    assert resp.mimetype == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"].startswith("private")
    assert "max-age" in resp.headers["Cache-Control"]
    assert len(cdn_calls(graph, "lookaside.fbsbx.com")) == 1

    # the signed URL expires: what was fetched still shows, and Meta is not asked again
    graph.replace(responses.GET, url, status=403, body=b"URL signature expired")
    again = staff.get(f"/inbox/media/{msg.id}/0")
    assert again.status_code == 200 and again.data == PNG
    assert len(cdn_calls(graph, "lookaside.fbsbx.com")) == 1


def test_an_instagram_image_and_its_sibling_video(world, app, graph, post_meta, staff):
    add_channel(app, world.a.tenant_id, Platform.INSTAGRAM, "ig-media-A", "ig-token")
    url = "https://scontent-bom1-1.cdninstagram.com/v/t51/photo.jpg?oh=x&oe=y"
    graph.add(responses.GET, url, body=JPEG, content_type="image/jpeg")
    msg = messenger_image(app, post_meta, url, mid="ig_m1", psid="igsid-1", kinds=("image", "video"),
                          obj="instagram", account="ig-media-A")
    thread = staff.get(f"/inbox/c/{msg.conversation_id}/messages.json").json["messages"]
    assert [a["inline"] for a in thread[-1]["attachments"]] == [True, False]  # the video stays a link
    resp = staff.get(f"/inbox/media/{msg.id}/0")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg" and resp.data == JPEG
    # no token goes to a CDN URL that doesn't need one
    assert "Authorization" not in cdn_calls(graph, "cdninstagram.com")[0].request.headers
    assert staff.get(f"/inbox/media/{msg.id}/1").status_code == 404  # the video: no proxy
    assert staff.get(f"/inbox/media/{msg.id}/2").status_code == 404  # nothing there


# ------------------------------------------------------------------ WhatsApp


def wa_image(app, post_meta, media_id, wamid="wamid.IMG1", kind="image"):
    content = {"id": media_id, "mime_type": "image/jpeg", "sha256": "abc="}
    post_meta(mp.whatsapp(WA_NUMBER, contacts=[mp.wa_contact("919876500001", "Asha")],
                          messages=[mp.wa_message("919876500001", wamid, kind, content)]))
    return stored(app, wamid)


def test_a_whatsapp_image_is_resolved_and_downloaded_with_the_channels_token(world, app, graph,
                                                                             post_meta, staff):
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, WA_NUMBER, "wa-secret-token")
    cdn = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=777001&ext=1&hash=h"
    graph.add(responses.GET, "http://graph.test/v25.0/777001",
              match=[matchers.header_matcher({"Authorization": "Bearer wa-secret-token"}),
                     matchers.query_param_matcher({"phone_number_id": WA_NUMBER}, strict_match=False)],
              json={"messaging_product": "whatsapp", "url": cdn, "mime_type": "image/jpeg",
                    "sha256": "abc=", "file_size": str(len(JPEG)), "id": "777001"})
    # Meta's media URL answers only with the bearer token
    graph.add(responses.GET, cdn, body=JPEG, content_type="image/jpeg",
              match=[matchers.header_matcher({"Authorization": "Bearer wa-secret-token"})])
    msg = wa_image(app, post_meta, "777001")
    thread = staff.get(f"/inbox/c/{msg.conversation_id}/messages.json").json["messages"]
    assert thread[-1]["attachments"] == [{"type": "image", "url": None, "inline": True, "download": False}]
    resp = staff.get(f"/inbox/media/{msg.id}/0")
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "image/jpeg" and resp.data == JPEG
    assert "appsecret_proof=" in cdn_calls(graph, "graph.test/v25.0/777001")[0].request.url
    assert b"wa-secret-token" not in resp.data and "wa-secret-token" not in str(resp.headers)


def test_an_expired_whatsapp_media_id_is_a_clear_placeholder_remembered(world, app, graph,
                                                                        post_meta, staff):
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, WA_NUMBER, "wa-secret-token")
    graph.add(responses.GET, "http://graph.test/v25.0/777002", status=400, json={"error": {
        "message": "Unsupported get request. Object with ID '777002' does not exist",
        "type": "GraphMethodException", "code": 100, "error_subcode": 33}})
    msg = wa_image(app, post_meta, "777002", wamid="wamid.IMG2")
    resp = staff.get(f"/inbox/media/{msg.id}/0")
    assert resp.status_code == 404 and resp.headers["X-Media-Error"] == "expired"
    assert "expired" in resp.get_data(as_text=True)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    staff.get(f"/inbox/media/{msg.id}/0")
    assert len(cdn_calls(graph, "777002")) == 1  # a reload doesn't ask Meta again


def test_a_whatsapp_document_is_a_download_never_rendered(world, app, graph, post_meta, staff, browser):
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, WA_NUMBER, "wa-secret-token")
    page = b"<html><script>alert(document.cookie)</script></html>"  # whatever a customer sends
    cdn = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=777003"
    graph.add(responses.GET, "http://graph.test/v25.0/777003", json={"url": cdn, "id": "777003"},
              match=[matchers.header_matcher({"Authorization": "Bearer wa-secret-token"})])
    graph.add(responses.GET, cdn, body=page, content_type="text/html",
              match=[matchers.header_matcher({"Authorization": "Bearer wa-secret-token"})])
    content = {"id": "777003", "mime_type": "application/pdf", "filename": "../Invoice March\r\n.pdf"}
    post_meta(mp.whatsapp(WA_NUMBER, messages=[
        mp.wa_message("919876500001", "wamid.DOC1", "document", content)]))
    msg = stored(app, "wamid.DOC1")
    thread = staff.get(f"/inbox/c/{msg.conversation_id}/messages.json").json["messages"]
    assert thread[-1]["attachments"] == [{"type": "document", "url": None, "inline": False, "download": True}]
    resp = staff.get(f"/inbox/media/{msg.id}/0")
    assert resp.status_code == 200 and resp.data == page
    assert resp.mimetype == "application/octet-stream"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="Invoice_March_.pdf"'
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in resp.headers["Cache-Control"]
    assert browser("owner_b").get(f"/inbox/media/{msg.id}/0").status_code == 404


# ------------------------------------------------------------------ what is refused


@pytest.mark.parametrize("body, content_type", [
    (SVG, "image/svg+xml"),
    (b"<!doctype html><script>alert(1)</script>", "image/png"),  # a lie in the header
    (b"GIF8 not quite", "image/gif"),
])
def test_what_is_not_an_image_by_its_bytes_is_refused(world, app, graph, post_meta, staff,
                                                      body, content_type):
    url = f"https://scontent.xx.fbcdn.net/v/{zlib.crc32(body)}.png"
    graph.add(responses.GET, url, body=body, content_type=content_type)
    msg = messenger_image(app, post_meta, url, mid=f"m_bad{zlib.crc32(body)}")
    resp = staff.get(f"/inbox/media/{msg.id}/0")
    assert resp.status_code == 502 and resp.headers["X-Media-Error"] == "not_an_image"
    assert resp.mimetype == "text/plain" and body not in resp.data


def test_too_large_is_refused_by_declared_size_and_by_what_arrives(world, app, graph, post_meta,
                                                                   staff, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_BYTES", 1000)
    declared = "https://scontent.xx.fbcdn.net/v/declared.png"
    graph.add(responses.GET, declared, body=PNG + b"\x00" * 2000, content_type="image/png",
              auto_calculate_content_length=True)
    streamed = "https://scontent.xx.fbcdn.net/v/streamed.png"
    graph.add(responses.GET, streamed, body=PNG + b"\x00" * 2000, content_type="image/png",
              auto_calculate_content_length=False)
    for n, url in enumerate((declared, streamed)):
        msg = messenger_image(app, post_meta, url, mid=f"m_big{n}")
        resp = staff.get(f"/inbox/media/{msg.id}/0")
        assert resp.status_code == 502 and resp.headers["X-Media-Error"] == "too_large"


def test_a_cdn_404_or_timeout_is_a_placeholder_not_a_500(world, app, graph, post_meta, staff):
    gone = "https://scontent.xx.fbcdn.net/v/gone.jpg"
    slow = "https://scontent.xx.fbcdn.net/v/slow.jpg"
    graph.add(responses.GET, gone, status=404)
    graph.add(responses.GET, slow, body=requests.exceptions.ReadTimeout("read timed out"))
    resp = staff.get(f"/inbox/media/{messenger_image(app, post_meta, gone, mid='m_gone').id}/0")
    assert resp.status_code == 404 and resp.headers["X-Media-Error"] == "expired"
    resp = staff.get(f"/inbox/media/{messenger_image(app, post_meta, slow, mid='m_slow').id}/0")
    assert resp.status_code == 502 and resp.headers["X-Media-Error"] == "unavailable"


def test_only_metas_hosts_are_fetched_even_after_a_redirect(world, app, graph, post_meta, staff):
    foreign = "https://attacker.example/x.png"
    msg = messenger_image(app, post_meta, foreign, mid="m_foreign")
    thread = staff.get(f"/inbox/c/{msg.conversation_id}/messages.json").json["messages"]
    assert thread[-1]["attachments"] == [{"type": "image", "url": foreign, "inline": False,
                                          "download": False}]
    assert staff.get(f"/inbox/media/{msg.id}/0").status_code == 404
    hop = "https://scontent.xx.fbcdn.net/v/hop.png"
    graph.add(responses.GET, hop, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    resp = staff.get(f"/inbox/media/{messenger_image(app, post_meta, hop, mid='m_hop').id}/0")
    assert resp.status_code == 502 and resp.headers["X-Media-Error"] == "unavailable"
    assert not [c for c in graph.calls if "attacker" in c.request.url or "169.254" in c.request.url]


def test_a_redirect_within_meta_is_followed_without_the_token(world, app, graph, post_meta, staff):
    add_channel(app, world.a.tenant_id, Platform.WHATSAPP, WA_NUMBER, "wa-secret-token")
    first = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=777004"
    final = "https://scontent.whatsapp.net/v/t61/777004.jpg"
    graph.add(responses.GET, "http://graph.test/v25.0/777004", json={"url": first, "id": "777004"})
    graph.add(responses.GET, first, status=302, headers={"Location": final})
    graph.add(responses.GET, final, body=JPEG, content_type="image/jpeg")
    resp = staff.get(f"/inbox/media/{wa_image(app, post_meta, '777004', wamid='wamid.IMG4').id}/0")
    assert resp.status_code == 200 and resp.data == JPEG
    assert cdn_calls(graph, "lookaside")[0].request.headers["Authorization"] == "Bearer wa-secret-token"
    assert "Authorization" not in cdn_calls(graph, "whatsapp.net")[0].request.headers


# ------------------------------------------------------------------ who may see it


def test_another_tenants_message_is_a_404_and_fetches_nothing(world, app, graph, post_meta, browser):
    url = "https://scontent.xx.fbcdn.net/v/private.png"
    graph.add(responses.GET, url, body=PNG, content_type="image/png")
    msg = messenger_image(app, post_meta, url, mid="m_private")
    assert browser("owner_c").get(f"/inbox/media/{msg.id}/0").status_code == 404
    assert browser("owner_b").get(f"/inbox/media/{msg.id}/0").status_code == 404
    assert cdn_calls(graph, "private.png") == []
    anonymous = browser().get(f"/inbox/media/{msg.id}/0")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert browser("owner_a").get(f"/inbox/media/{msg.id}/0").data == PNG


def test_the_conversation_page_knows_where_images_come_from(world, staff):
    html = staff.get(f"/inbox/c/{world.a['conversation']}").get_data(as_text=True)
    assert 'data-media-url="/inbox/media/"' in html


# ------------------------------------------------------------------ the parts


def test_sniff_knows_the_four_web_image_types_and_nothing_else():
    assert client.sniff(PNG) == "image/png"
    assert client.sniff(JPEG) == "image/jpeg"
    assert client.sniff(b"GIF89a....") == "image/gif"
    assert client.sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "image/webp"
    for other in (SVG, b"<html>", b"%PDF-1.7", b"RIFF\x10\x00\x00\x00WAVEfmt ", b""):
        assert client.sniff(other) is None


@pytest.mark.parametrize("url, ok", [
    ("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1", True),
    ("https://scontent.xx.fbcdn.net/v/a.jpg", True),
    ("https://fbcdn.net/a.jpg", True),
    ("http://scontent.xx.fbcdn.net/v/a.jpg", False),       # not https
    ("https://evilfbcdn.net/a.jpg", False),                # not a subdomain
    ("https://fbcdn.net.evil.example/a.jpg", False),
    ("https://user:pw@scontent.xx.fbcdn.net/a.jpg", False),
    ("https://scontent.xx.fbcdn.net:8443/a.jpg", False),
    ("http://127.0.0.1:8080/media/1", True),               # an exact origin on the list
    ("http://127.0.0.1:8081/media/1", False),
    ("not a url", False),
])
def test_allowed_hosts(url, ok):
    assert client.allowed(url, ("fbcdn.net", "fbsbx.com", "http://127.0.0.1:8080")) is ok


def test_the_cache_keeps_to_its_byte_budget():
    cache = media.ImageCache(budget=100)
    cache.put("a", client.Image(b"x" * 60, "image/png"))
    cache.put("b", client.Image(b"y" * 30, "image/png"))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", client.Image(b"z" * 30, "image/png"))  # over budget: b, the oldest, goes
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    assert cache.size == 90
    cache.put("huge", client.Image(b"h" * 101, "image/png"))  # never kept
    assert cache.get("huge") is None and cache.size == 90


def test_stored_payloads_of_the_wrong_type_are_ignored(world, app, ctx):  # no requests here
    msg = Message(tenant_id=world.a.tenant_id, payload={"raw": {
        "type": "image", "image": {"id": "../../me/accounts"},
        "message": {"attachments": ["x", {"type": ["image"], "payload": {"url": 5}}]}}})
    assert media.attachments(msg) == [media.Attachment("file", url=None),
                                      media.Attachment("image", media_id=None)]
    assert not any(media.inline(a) for a in media.attachments(msg))
