from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client

from apps.batch.models import BatchJob
from tests.batch.conftest import files
from tests.conftest import key_client, require
from tests.servers import running_daphne, test_database_url

ARTEFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.mark.django_db
def test_the_jobs_page_needs_a_login_and_shows_only_the_tenants_jobs(
    owner_a, tenant_a, tenant_b
):
    mine = BatchJob.objects.create(tenant=tenant_a, total=3, done=1)
    theirs = BatchJob.objects.create(tenant=tenant_b, total=1)
    client = Client()
    assert client.get("/jobs/").status_code == 302
    client.force_login(owner_a)
    page = client.get("/jobs/").content.decode()
    assert f'data-job="{mine.pk}"' in page and f'data-job="{theirs.pk}"' not in page
    assert 'value="33.3"' in page
    assert client.get(f"/jobs/{mine.pk}/").status_code == 200
    assert client.get(f"/jobs/{theirs.pk}/").status_code == 404


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_bar_on_the_jobs_page_reaches_100_in_chromium_after_a_restart(
    owner_a, tenant_a, postgres
):
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    require(chromium is not None and driver_path is not None, "chromium not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    api = key_client(tenant_a, owner_a, ["read", "write"])
    web = Client()
    web.force_login(owner_a)
    session = web.cookies[settings.SESSION_COOKIE_NAME].value
    env = {
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": "",  # embedded: the job runs inside daphne
        "CADML_PARSE_WORKERS": "1",
    }
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    wait = WebDriverWait(browser, 30)

    def page_is(state: str) -> None:
        wait.until(
            lambda b: (
                b.find_element("id", "ws-state").get_attribute("data-state") == state
            )
        )

    try:
        with running_daphne(env) as server:
            browser.get(f"{server.url}/healthz")
            browser.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": session})
            browser.get(f"{server.url}/jobs/")
            page_is("ready")
        # The server restarts (a deploy) under the open page: it says so, and
        # comes back live by itself.
        page_is("closed")
        with running_daphne(env, port=server.port) as server:
            page_is("ready")
            response = httpx.post(
                f"{server.url}/api/v1/jobs",
                headers={"Authorization": f"Api-Key {api.plaintext}"},
                files=[("files", (name, content)) for name, content in files(4)],
                timeout=60,
            )
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            bar = f'tr[data-job="{job_id}"] progress'
            wait.until(
                lambda b: (
                    b.find_elements("css selector", bar)
                    and b.find_element("css selector", bar).get_attribute("value")
                    == "100"
                )
            )
            row = browser.find_element("css selector", f'tr[data-job="{job_id}"]')
            assert "succeeded" in row.text
            ARTEFACTS.mkdir(exist_ok=True)
            browser.save_screenshot(str(ARTEFACTS / "batch-jobs-page.png"))
    finally:
        browser.quit()
    time.sleep(0)  # daphne stopped; its threads have closed their connections
