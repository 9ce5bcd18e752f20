"""In a real browser with a real worker: open a tool page from a picture, run resize,
follow it live and see the result saved as a new version."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from tests.browser.conftest import ADMIN
from tests.conftest import sample_photo

pytestmark = pytest.mark.browser
RUN_MS = 60_000  # the worker may first finish the upload's analysis


def _login(page) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', ADMIN[0])
    page.fill('input[name="password"]', ADMIN[1])
    page.click("button.primary")
    page.wait_for_url("**/")


def _upload(page) -> int:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = page.request.post("/api/v1/images", headers={"X-CSRFToken": token}, multipart={
        "file": {"name": "chelsea.jpg", "mimeType": "image/jpeg",
                 "buffer": sample_photo("chelsea")}})
    assert response.status == 201, response.text()
    return int(response.json()["images"][0]["id"])


def test_run_resize_on_a_picture_from_its_tool_page(page) -> None:
    _login(page)
    picture = _upload(page)
    page.goto(f"/images/{picture}")
    page.click("#picture-tools summary")
    page.click(f'#picture-tools a[href="/tools/resize?image={picture}"]')
    page.wait_for_url(f"**/tools/resize?image={picture}")
    placeholder = page.locator("#tool-placeholder")  # resize needs a size before a preview
    page.wait_for_function("() => document.getElementById('tool-placeholder')"
                           ".textContent.startsWith('No preview yet')")
    assert placeholder.inner_text() == "No preview yet: give a width, a height or a percentage."

    page.fill('input[name="width"]', "100")
    page.locator("#tool-preview").wait_for(state="visible")  # a cheap tool's live preview
    page.click("#tool-run")
    saved = page.locator("#tool-outputs li[data-image-id]")
    saved.wait_for(timeout=RUN_MS)
    assert page.locator("#tool-result").get_attribute("data-state") == "succeeded"
    assert "chelsea_resize.jpg" in saved.inner_text()

    saved.locator("a", has_text="saved as a new version").click()
    page.wait_for_url("**/images/*")
    assert page.locator("#picture").get_attribute("width") == "100"
    strip = page.locator("#versions")
    assert strip.locator('[data-relation="ancestor"]').get_attribute("data-version") == str(
        picture)
    assert strip.locator('[data-relation="self"] small').inner_text() == "resize"


IN_VIEW = ("el => { const r = el.getBoundingClientRect();"
           " return r.top >= 0 && r.top < window.innerHeight && r.height > 0; }")


def _choose_file(page, name: str = "chelsea") -> None:
    page.set_input_files("#tool-file", files=[{"name": f"{name}.jpg", "mimeType": "image/jpeg",
                                               "buffer": sample_photo(name)}])


def test_slider_drives_the_preview_and_the_result_is_in_view(page) -> None:
    _login(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/tools/adjust-colors")
    _choose_file(page)
    preview = page.locator("#tool-preview-image")
    page.locator("#tool-preview").wait_for(state="visible")
    first = preview.get_attribute("src")

    slider = page.locator('input[type=range][data-slider-for="field-brightness"]')
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")  # the slider works from the keyboard
    assert page.input_value('input[name="brightness"]') == "5"
    slider.fill("60")
    assert page.input_value('input[name="brightness"]') == "60"  # kept in step
    page.wait_for_function("first => document.getElementById('tool-preview-image').src !== first",
                           arg=first)
    page.fill('input[name="brightness"]', "-20")  # and the other way round
    assert slider.input_value() == "-20"

    page.click("#tool-run")
    page.wait_for_function("document.getElementById('tool-result').dataset.state === 'succeeded'",
                           timeout=RUN_MS)
    download = page.locator("#tool-outputs a[download]")
    assert "chelsea_adjust-colors.jpg" in download.inner_text()
    page.wait_for_function(f"({IN_VIEW})(document.querySelector('#tool-outputs a[download]'))")
    assert page.locator("#tool-outputs img").is_visible()


def test_narrow_screen_scrolls_to_the_result_and_data_is_readable(page) -> None:
    _login(page)
    page.set_viewport_size({"width": 400, "height": 800})
    page.goto("/tools/info")
    _choose_file(page)
    page.click("#tool-run")
    page.wait_for_function("document.getElementById('tool-result').dataset.state === 'succeeded'",
                           timeout=RUN_MS)
    page.wait_for_function(f"({IN_VIEW})(document.getElementById('tool-result'))")
    assert page.locator('#tool-data dd[data-key="width"]').inner_text() == "451"
    assert page.locator('#tool-data dd[data-key="format"]').inner_text() == "jpg"
    assert page.locator("#tool-data table.data-table tbody tr").count() == 3  # red, green, blue

    page.goto("/tools/color-palette")
    _choose_file(page, "astronaut")
    page.click("#tool-run")
    page.wait_for_function("document.getElementById('tool-result').dataset.state === 'succeeded'",
                           timeout=RUN_MS)
    swatches = page.locator("#tool-data .swatch")
    assert swatches.count() >= 3
    colour = swatches.first.get_attribute("data-color")
    assert swatches.first.locator(".chip").evaluate("e => getComputedStyle(e).backgroundColor") \
        == "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


def test_qr_code_previews_as_you_type(page) -> None:
    _login(page)
    page.goto("/tools/qr-generate")
    assert "Change the settings" in page.locator("#tool-placeholder").inner_text()
    page.fill('textarea[name="text"], input[name="text"]', "https://salon.test/a")
    page.locator("#tool-preview").wait_for(state="visible")
    data = page.evaluate("""async () => {
        const blob = await (await fetch(document.getElementById('tool-preview-image').src)).blob();
        return Array.from(new Uint8Array(await blob.arrayBuffer()));
    }""")
    with Image.open(io.BytesIO(bytes(data))) as image:
        assert [code.text for code in zxingcpp.read_barcodes(image)] == ["https://salon.test/a"]
