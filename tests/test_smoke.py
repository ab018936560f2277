def test_owner_sees_products(world, browser):
    b = browser("owner_a")
    resp = b.get("/productview/list/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Prod-A" in html and "Prod-B" not in html
