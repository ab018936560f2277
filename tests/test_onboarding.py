"""The onboarding wizard: each step saves, skips and resumes; documents become knowledge."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    BusinessProfile,
    Campaign,
    CampaignStatus,
    DocumentUpload,
    KnowledgeChunk,
    KnowledgeDocument,
    OnboardingProgress,
    Product,
    StepStatus,
    Tenant,
    UploadStatus,
)
from tests.document_files import docx_bytes, pdf_bytes, zip_bytes


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def progress_of(tenant_id) -> OnboardingProgress:
    db.session.expire_all()
    return db.session.scalar(select(OnboardingProgress).where(OnboardingProgress.tenant_id == tenant_id))


def upload(person, filename: str, data: bytes):
    token = person.csrf("/onboarding/documents")
    return person.client.post("/onboarding/documents", data={
        "csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data")


def status_json(person, upload_id: int):
    return person.get(f"/onboarding/documents/{upload_id}/status")


def last_upload(tenant_id) -> DocumentUpload:
    db.session.expire_all()
    return db.session.scalar(select(DocumentUpload).where(DocumentUpload.tenant_id == tenant_id)
                             .order_by(DocumentUpload.id.desc()))


# ------------------------------------------------------------------------------ steps


def test_profile_step_saves_and_the_wizard_resumes_at_the_next_step(world, browser, app):
    owner = browser("owner_a")
    assert owner.get("/onboarding/").headers["Location"].endswith("/onboarding/profile")
    resp = owner.post("/onboarding/profile", token_from="/onboarding/profile", data={
        "business_name": "Meera Handlooms", "owner_name": "Meera Iyer", "industry": "Sarees",
        "description": "Handwoven Kanchipuram silk sarees", "website": "https://meera.in",
        "phone": "+91 98450 00000", "goals": "More Instagram orders", "audience": "Brides",
        "tone": "Warm, Hinglish ok", "policies": "Returns within 7 days"})
    assert resp.status_code == 302
    with app.app_context():
        profile = db.session.scalar(select(BusinessProfile).where(
            BusinessProfile.tenant_id == world.a.tenant_id))
        assert (profile.business_name, profile.owner_name, profile.tone, profile.policies) == (
            "Meera Handlooms", "Meera Iyer", "Warm, Hinglish ok", "Returns within 7 days")
        assert progress_of(world.a.tenant_id).profile == StepStatus.DONE
    # a new session resumes where the owner left off
    again = browser("owner_a")
    assert again.get("/onboarding/").headers["Location"].endswith("/onboarding/documents")
    page = again.get("/onboarding/profile").get_data(as_text=True)
    assert 'value="Meera Iyer"' in page and "25% set up" in page


def test_profile_step_refuses_a_bad_website_and_keeps_the_old_profile(world, browser, app):
    owner = browser("owner_a")
    resp = owner.post("/onboarding/profile", token_from="/onboarding/profile", data={
        "business_name": "Changed", "website": "not a url"})
    assert resp.status_code == 400 and "Invalid URL" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(BusinessProfile, BusinessProfile.business_name == "Changed") == 0
        assert progress_of(world.a.tenant_id).profile == StepStatus.PENDING


def test_profile_feeds_the_agent_at_once(world, browser, app):
    from app.services import tenant_content

    with app.app_context():
        before = tenant_content.get(world.a.tenant_id)
    browser("owner_a").post("/onboarding/profile", token_from="/onboarding/profile", data={
        "business_name": "Meera Handlooms", "policies": "Cash on delivery in Chennai only"})
    with app.app_context():
        after = tenant_content.get(world.a.tenant_id)
    assert after.stamp != before.stamp
    assert after.profile.policies == "Cash on delivery in Chennai only"


def test_each_step_can_be_skipped_and_a_skipped_step_can_still_be_done(world, browser, app):
    owner = browser("owner_a")
    for step, following in (("profile", "documents"), ("documents", "campaign"),
                            ("campaign", "channel")):
        resp = owner.post(f"/onboarding/skip/{step}", token_from="/onboarding/channel")
        assert resp.status_code == 302
        assert owner.get("/onboarding/").headers["Location"].endswith(f"/onboarding/{following}")
    owner.post("/onboarding/skip/channel", token_from="/onboarding/channel")
    finished = owner.get("/onboarding/")
    assert finished.status_code == 200 and 'id="onboarding-finished"' in finished.get_data(as_text=True)
    with app.app_context():
        row = progress_of(world.a.tenant_id)
        assert [row.status_of(s) for s in ("profile", "documents", "campaign", "channel")] == \
            [StepStatus.SKIPPED] * 4
        assert row.completed_at is not None
    owner.post("/onboarding/profile", token_from="/onboarding/profile",
               data={"business_name": "Later Profile"})
    with app.app_context():
        assert progress_of(world.a.tenant_id).profile == StepStatus.DONE
    assert owner.post("/onboarding/skip/nonsense", token_from="/onboarding/channel").status_code == 404


def test_campaign_step_creates_an_active_campaign_and_coming_back_edits_it(world, browser, app):
    owner = browser("owner_a")
    resp = owner.post("/onboarding/campaign", token_from="/onboarding/campaign", data={
        "name": "Wedding season", "target_platform": "instagram", "products": [str(world.a["product"])],
        "new_product_name": "Silk Dupatta", "new_product_price": "1499.50", "new_product_stock": "12",
        "greeting": "Namaste! Looking for something for a wedding?",
        "qualification_questions": "Whose wedding? Budget?", "objection_handling": "Free returns",
        "closing": "Shall I reserve it for you?", "audience": "Brides and families"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.name == "Wedding season"))
        assert campaign.tenant_id == world.a.tenant_id and campaign.status == CampaignStatus.ACTIVE
        assert campaign.target_platform == "instagram" and campaign.closing == "Shall I reserve it for you?"
        dupatta = db.session.scalar(select(Product).where(Product.name == "Silk Dupatta"))
        assert (dupatta.price_minor, dupatta.stock, dupatta.tenant_id) == (149950, 12, world.a.tenant_id)
        assert sorted(p.id for p in campaign.products) == sorted([world.a["product"], dupatta.id])
        assert progress_of(world.a.tenant_id).campaign == StepStatus.DONE
        campaign_id = campaign.id
    page = owner.get("/onboarding/campaign").get_data(as_text=True)
    assert 'value="Wedding season"' in page
    owner.post("/onboarding/campaign", token_from="/onboarding/campaign", data={
        "name": "Wedding season 2", "target_platform": "all", "products": [str(world.a["product"])]})
    with app.app_context():
        assert count(Campaign, Campaign.tenant_id == world.a.tenant_id,
                     Campaign.name.like("Wedding season%")) == 1
        assert db.session.get(Campaign, campaign_id).name == "Wedding season 2"


def test_campaign_step_refuses_another_tenants_product(world, browser, app):
    resp = browser("owner_a").post("/onboarding/campaign", token_from="/onboarding/campaign", data={
        "name": "Sneaky", "target_platform": "all", "products": [str(world.b["product"])]})
    assert resp.status_code == 400
    assert "not a valid choice" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Campaign, Campaign.name == "Sneaky") == 0


def test_campaign_step_needs_a_price_for_a_new_product(world, browser, app):
    resp = browser("owner_a").post("/onboarding/campaign", token_from="/onboarding/campaign", data={
        "name": "No price", "target_platform": "all", "new_product_name": "Mystery"})
    assert resp.status_code == 400 and "price" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Campaign, Campaign.name == "No price") == 0
        assert count(Product, Product.name == "Mystery") == 0


def test_channel_step_links_to_the_integrations_and_can_be_finished(world, browser, app):
    owner = browser("owner_a")
    html = owner.get("/onboarding/channel").get_data(as_text=True)
    for href in ("/integrations/", "/integrations/facebook/connect", "/integrations/whatsapp/connect"):
        assert f'href="{href}"' in html
    assert owner.post("/onboarding/channel", token_from="/onboarding/channel").status_code == 302
    with app.app_context():
        assert progress_of(world.a.tenant_id).channel == StepStatus.DONE


def test_wizard_posts_need_csrf(world, browser, app):
    owner = browser("owner_a")
    assert owner.client.post("/onboarding/skip/profile").status_code == 400
    assert owner.client.post("/onboarding/channel").status_code == 400
    with app.app_context():
        row = progress_of(world.a.tenant_id)
        assert row is None or row.profile == StepStatus.PENDING


def test_staff_have_no_wizard_and_agency_admins_run_it_for_a_client(world, browser, app):
    assert browser("staff_a").get("/onboarding/profile").status_code == 403
    agency = browser("agency")
    assert agency.post("/tenantsview/add", token_from="/tenantsview/add", data={
        "name": "Client Store", "currency": "INR", "timezone": "Asia/Kolkata"}).status_code == 302
    with app.app_context():
        client_id = db.session.scalar(select(Tenant.id).where(Tenant.name == "Client Store"))
    assert agency.post("/tenant/switch", data={"tenant_id": client_id}).status_code == 302
    assert agency.get("/onboarding/").headers["Location"].endswith("/onboarding/profile")
    agency.post("/onboarding/profile", token_from="/onboarding/profile",
                data={"business_name": "Client Store", "industry": "Spices"})
    with app.app_context():
        profile = db.session.scalar(select(BusinessProfile).where(BusinessProfile.tenant_id == client_id))
        assert profile.industry == "Spices"
        assert progress_of(client_id).profile == StepStatus.DONE
        assert progress_of(world.a.tenant_id) is None


# ------------------------------------------------------------------------------ documents

FORMATS = [
    ("returns.pdf", lambda: pdf_bytes("Returns accepted within 7 days", "Free shipping over Rs 999"),
     ["Returns accepted within 7 days", "Free shipping over Rs 999"]),
    ("sizes.docx", lambda: docx_bytes("Size chart for kurtas", table=[["M", "38-40 inch chest"]]),
     ["Size chart for kurtas", "M | 38-40 inch chest"]),
    ("faq.txt", lambda: "Do you ship abroad?\n\nYes, to the UAE and Singapore.".encode(),
     ["Do you ship abroad?", "Yes, to the UAE and Singapore."]),
    ("care.md", lambda: "# Care\n\nDry clean only. **Never** bleach.".encode(),
     ["# Care", "Dry clean only. **Never** bleach."]),
]


@pytest.mark.parametrize("filename, make, texts", FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format_is_extracted_chunked_and_reaches_the_agent(world, browser, app, run_jobs,
                                                                filename, make, texts):
    from app.services import tenant_content

    owner = browser("owner_a")
    resp = upload(owner, filename, make())
    assert resp.status_code == 302
    with app.app_context():
        item = last_upload(world.a.tenant_id)
        assert item.status == UploadStatus.QUEUED and item.filename == filename
        upload_id = item.id
    queued = status_json(owner, upload_id).json
    assert queued["status"] == "queued" and queued["progress"] == 0
    run_jobs()
    done = status_json(owner, upload_id).json
    assert done["status"] == "done" and done["progress"] == 100 and done["chunks"] >= 1
    with app.app_context():
        item = last_upload(world.a.tenant_id)
        assert item.data is None and item.error is None
        doc = db.session.get(KnowledgeDocument, item.document_id)
        assert doc.tenant_id == world.a.tenant_id and doc.title == filename
        chunks = " ".join(db.session.scalars(select(KnowledgeChunk.content).where(
            KnowledgeChunk.document_id == doc.id)))
        for text in texts:
            assert text in doc.content and text.split()[-1] in chunks
        assert progress_of(world.a.tenant_id).documents == StepStatus.DONE
        content = tenant_content.get(world.a.tenant_id)
        assert any(texts[0].split()[0] in hit for hit in content.knowledge.retrieve(texts[0], 3))


def test_the_job_is_idempotent(world, browser, app, run_jobs):
    from app.services import documents

    owner = browser("owner_a")
    upload(owner, "faq.txt", b"We deliver in 3 days.")
    run_jobs()
    with app.app_context():
        item = last_upload(world.a.tenant_id)
        assert documents.process(world.a.tenant_id, item.id) == "done"
        # a run thought dead that reaches the end after another finished adds nothing
        documents._save(world.a.tenant_id, item.id, "We deliver in 3 days.")
        assert count(KnowledgeDocument, KnowledgeDocument.title == "faq.txt") == 1


def test_oversized_file_is_refused_with_a_clear_message_and_nothing_saved(world, browser, app):
    app.config["DOCUMENT_MAX_BYTES"] = 1000
    try:
        owner = browser("owner_a")
        resp = upload(owner, "big.txt", b"a" * 1001)
        assert resp.status_code == 400
        assert "larger than" in resp.get_data(as_text=True)
    finally:
        app.config["DOCUMENT_MAX_BYTES"] = 2 * 1024 * 1024
    with app.app_context():
        assert count(DocumentUpload) == 0


def test_file_over_the_request_limit_gets_the_same_message(world, browser, app):
    owner = browser("owner_a")
    resp = upload(owner, "huge.pdf", b"%PDF-1.4\n" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 10))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/onboarding/documents")
    assert "larger than 2 MB" in owner.get("/onboarding/documents").get_data(as_text=True)
    with app.app_context():
        assert count(DocumentUpload) == 0


@pytest.mark.parametrize("filename, data, message", [
    ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "PDF is damaged"),
    ("broken.docx", b"PK\x03\x04 this is not really a zip", "damaged"),
    ("archive.docx", zip_bytes("notes.txt", b"hello"), "not a Word (DOCX) document"),
    ("bomb.docx", zip_bytes("word/document.xml", b"0" * (65 * 1024 * 1024)), "unpacks to far more"),
    ("fake.pdf", b"just some text pretending", "its content is a text file"),
    ("renamed.txt", pdf_bytes("a pdf in disguise"), "its content is a PDF"),
    ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00", "not a PDF, DOCX, text or Markdown"),
    ("latin1.txt", "café crème".encode("latin-1"), "not UTF-8"),
    ("empty.txt", b"", "empty"),
])
def test_corrupt_or_mistyped_files_are_refused_before_anything_is_saved(
        world, browser, app, filename, data, message):
    owner = browser("owner_a")
    resp = upload(owner, filename, data)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        assert count(DocumentUpload) == 0
        assert count(KnowledgeDocument, KnowledgeDocument.title == filename) == 0


def test_a_file_whose_text_cant_be_read_fails_in_the_job_and_writes_no_knowledge(
        world, browser, app, run_jobs):
    owner = browser("owner_a")
    resp = upload(owner, "scan.pdf", pdf_bytes(""))  # a page with no text, like a scan
    assert resp.status_code == 302
    with app.app_context():
        upload_id = last_upload(world.a.tenant_id).id
        documents_before = count(KnowledgeDocument)
    run_jobs()
    state = status_json(owner, upload_id).json
    assert state["status"] == "failed" and "No text found" in state["error"]
    with app.app_context():
        item = last_upload(world.a.tenant_id)
        assert item.data is None and item.document_id is None
        assert count(KnowledgeDocument) == documents_before
    assert "No text found" in owner.get("/onboarding/documents").get_data(as_text=True)


def test_documents_and_their_status_are_tenant_scoped(world, browser, app, run_jobs):
    owner_a = browser("owner_a")
    upload(owner_a, "secret.txt", b"Tenant A's wholesale price list")
    with app.app_context():
        upload_id = last_upload(world.a.tenant_id).id
    run_jobs()
    owner_b = browser("owner_b")
    assert status_json(owner_b, upload_id).status_code == 404
    assert "secret.txt" not in owner_b.get("/onboarding/documents").get_data(as_text=True)
    assert status_json(owner_a, upload_id).status_code == 200
    assert status_json(owner_a, upload_id + 999).status_code == 404
    # an agency admin sees it only while working in tenant A
    agency = browser("agency")
    agency.post("/tenant/switch", data={"tenant_id": world.b.tenant_id})
    assert status_json(agency, upload_id).status_code == 404
    agency.post("/tenant/switch", data={"tenant_id": world.a.tenant_id})
    assert status_json(agency, upload_id).status_code == 200
    with app.app_context():
        from app.services import tenant_content

        assert not tenant_content.get(world.b.tenant_id).knowledge.retrieve("wholesale price list", 3)


def test_anonymous_visitors_are_sent_to_sign_in(app):
    client = app.test_client()
    for path in ("/onboarding/", "/onboarding/documents/1/status"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
