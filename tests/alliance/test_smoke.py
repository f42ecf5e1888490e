from django.urls import reverse


def test_login_page_renders_in_chinese(browser_client, db):
    response = browser_client.get(reverse("login"))
    assert response.status_code == 200
    assert "用户名" in response.content.decode()
