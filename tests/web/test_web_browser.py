"""A real browser through a whole listening test: Playwright drives Debian's headless Chromium at a
phone's screen size (consent, play, rate, submit, reload mid-way, finish), then the stored rows are
checked. Skips when Chromium or Playwright is missing, unless TUNELAB_REQUIRE_BROWSER=1 (CI sets it,
after `make browser` installs them): then it fails."""

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tunelab.web import design
from tunelab.web.app import create_app
from tunelab.web.store import Store

from .test_web import make_sets

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]  # fmt: skip


def _need_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make test installs it)"
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (make browser, as root)"
    return None


missing = _need_browser()
if missing and os.environ.get("TUNELAB_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"TUNELAB_REQUIRE_BROWSER=1 but {missing}")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(missing is not None, reason=missing or "")]


def serve(app):
    """Run ``app`` under uvicorn in a thread on a free loopback port; returns (url, stop)."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.05)

    def stop():
        server.should_exit = True
        thread.join(5)

    return f"http://127.0.0.1:{port}", stop


def test_a_listener_takes_the_whole_test_in_chromium(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    a, b, real = make_sets(tmp_path, n=2)
    data = tmp_path / "data"
    test_id = design.create(
        data, [a, b], reference=str(real), n=2, seed=0, pairs=1, max_seconds=1.5, min_play_s=1.0,
        scales=["musicality", "overall"], synth="numpy", progress=False, name="Browser test",
    )  # fmt: skip
    url, stop = serve(create_app(data, admin_token="t"))
    shots = Path(os.environ.get("TUNELAB_SCREENSHOTS", tmp_path))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            page.goto(f"{url}/listen/{test_id}")
            expect(page.locator("#start")).to_be_disabled()
            page.check("#agree")
            page.select_option("#expertise", "amateur")
            page.click("#start")
            total = 3 * 2 + 1
            for position in range(total):
                expect(page.locator("#counter")).to_have_text(f"Melody {position + 1} of {total}")
                if position == 3:  # reload mid-way: the page resumes at the same step
                    page.reload()
                    expect(page.locator("#counter")).to_have_text(f"Melody {position + 1} of {total}")
                radios = page.locator("#answers input[type=radio]")
                expect(radios.first).to_be_disabled()  # not before the music has played
                for i in range(page.locator("audio").count()):  # one after the other, as on a phone
                    page.evaluate(f"document.querySelectorAll('audio')[{i}].play()")
                    expect(page.locator("audio").nth(i)).to_have_js_property("ended", True, timeout=15000)
                expect(radios.first).to_be_enabled(timeout=15000)
                if page.locator("input[name=choice]").count():
                    page.locator("input[name=choice][value=B]").check()
                else:
                    for scale, value in (("musicality", 3 + position % 5), ("overall", 8)):
                        page.locator(f"input[name={scale}][value='{value}']").check()
                if position == 1:
                    page.screenshot(path=str(shots / "listening-test.png"), full_page=True)
                page.click("#submit")
            expect(page.locator("#done")).to_be_visible()
            page.screenshot(path=str(shots / "listening-test-done.png"))
            # the admin's page: the token goes in a form, then only in request headers
            admin = browser.new_page(viewport={"width": 1200, "height": 900})
            requests = []
            admin.on("request", lambda r: requests.append(r.url))
            admin.goto(f"{url}/results/{test_id}")
            admin.fill("#token", "t")
            admin.click("#login button")
            expect(admin.locator("#tables h2").first).to_have_text("Ratings")
            expect(admin.locator("#summary")).to_contain_text("1 listeners, 1 finished, 7 answers")
            chart = admin.locator("#chart")
            expect(chart).to_have_attribute("src", re.compile(r"^blob:"))
            expect(chart).not_to_have_js_property("naturalWidth", 0)  # the chart drew
            assert requests and not [u for u in requests if "token" in u]
            admin.screenshot(path=str(shots / "listening-results.png"), full_page=True)
            browser.close()
    finally:
        stop()
    store = Store(data / "tunelab.db")
    ratings = store.ratings(test_id)
    assert len(ratings) == 6 * 2
    assert {r["expertise"] for r in ratings} == {"amateur"}
    assert sorted(r["value"] for r in ratings if r["scale"] == "overall") == [8] * 6
    assert all(r["played_s"] >= 1.0 for r in ratings)
    (choice,) = store.choices(test_id)
    assert choice["chosen_idx"] == choice["b_idx"]
    assert store.counts(test_id) == {"listeners": 1, "responses": 7, "finished": 1}
    assert (shots / "listening-test.png").stat().st_size > 10_000
