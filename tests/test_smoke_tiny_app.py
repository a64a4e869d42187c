import httpx


def test_tiny_app_compares_three_roles(tiny_app):
    r = httpx.post(f"{tiny_app}/v1/compare", json={"prompt": "hello"}, timeout=60)
    assert r.status_code == 200
    assert [x["role"] for x in r.json()["results"]] == ["base", "instruct", "reasoning"]
