"""The composer in a real browser (Debian's Chromium through Playwright): set the controls, generate,
play to the end with the notes followed, regenerate bars 3-4 (the rest of the tune unchanged),
edit the ABC (and see a syntax error at its line), download every format and read it back, and
open the permalink in a fresh context to get the same tune. Screenshots at desktop and phone
widths go to $TUNELAB_SCREENSHOTS (the docs' images) when it is set."""

import os
from functools import partial
from pathlib import Path

import pytest

import tunelab
from tunelab.io.abc import read_abc_tune
from tunelab.web.app import create_app
from tunelab.web.composer import Composer

from .test_composer import notes_outside
from .test_web_browser import CHROMIUM, FLAGS, missing, serve

pytestmark = [pytest.mark.slow, pytest.mark.skipif(missing is not None, reason=missing or "")]


def test_compose_hear_change_and_take_home_in_chromium(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    composer = Composer(partial(tunelab.load, threads=1), ["folk-lstm", "study-lstm"])
    url, stop = serve(create_app(tmp_path / "data", admin_token="t" * 32, composer=composer))
    shots = Path(os.environ.get("TUNELAB_SCREENSHOTS", tmp_path))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.goto(f"{url}/compose")
            page.select_option("#model", "folk-lstm")
            page.select_option("#key", "D")
            page.select_option("#mode", "major")
            page.select_option("#meter", "6/8")
            page.select_option("#type", "jig")
            page.fill("#bars", "8")
            page.fill("#seed", "3")
            page.click("#generate")
            expect(page.locator("#result")).to_be_visible(timeout=30000)
            expect(page.locator("#status")).to_contain_text("8 bars")
            first = page.input_value("#abc")
            assert "M:6/8" in first and "K:D" in first
            expect(page.locator("#sheet > svg")).to_be_visible()
            # play, fast, to the end; the playing note is highlighted on the way
            page.evaluate(
                "() => { const a = document.getElementById('player'); a.playbackRate = 4; a.play(); }"
            )
            expect(page.locator("#sheet .playing").first).to_be_attached(timeout=10000)
            expect(page.locator("#player")).to_have_js_property("ended", True, timeout=30000)
            page.screenshot(path=str(shots / "composer.png"), full_page=True)
            # bars 3-4 again: everything else as it was
            page.fill("#first", "3")
            page.fill("#last", "4")
            page.click("#fill")
            expect(page.locator("#abc")).not_to_have_value(first, timeout=30000)
            filled = page.input_value("#abc")
            assert notes_outside(filled, 3, 4) == notes_outside(first, 3, 4)
            # an edit re-renders; a syntax error is shown at its line
            edited = filled.replace("K:Dmaj\n", "K:Dmaj\nd6 |\n", 1)
            page.fill("#abc", edited)
            page.click("#apply")
            expect(page.locator("#status")).to_contain_text("9 bars", timeout=30000)
            page.fill("#abc", edited + "[ab\n")
            page.click("#apply")
            expect(page.locator("#error")).to_contain_text("line ", timeout=30000)
            page.fill("#abc", edited)
            page.click("#apply")
            expect(page.locator("#error")).to_have_text("", timeout=30000)
            # downloads, each read back by tunelab
            want = read_abc_tune(page.input_value("#abc"), source="t", tune=1)
            for ext in ("abc", "mid", "musicxml", "wav", "svg"):
                with page.expect_download() as d:
                    page.click(f"#dl-{ext}")
                path = tmp_path / f"down.{ext}"
                d.value.save_as(path)
                if ext in ("abc", "mid", "musicxml"):
                    (back,), errors = tunelab.io.load_file(path)
                    assert not errors and back.pitch.tolist() == want.pitch.tolist(), ext
                else:
                    assert path.read_bytes()[:4] in (b"RIFF", b"<svg", b"<?xm"), ext
            link = page.get_attribute("#permalink", "href")
            tune = page.input_value("#abc")
            # the permalink, in a fresh context: the same tune, rebuilt from the model, seeds and edits
            other = browser.new_context().new_page()
            other.goto(url + link)
            expect(other.locator("#result")).to_be_visible(timeout=60000)
            assert other.input_value("#abc") == tune
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            phone.goto(url + link)
            expect(phone.locator("#result")).to_be_visible(timeout=60000)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            phone.screenshot(path=str(shots / "composer-phone.png"), full_page=True)
            browser.close()
    finally:
        stop()
        composer.pool.shutdown()
