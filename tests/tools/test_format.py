"""Format tools on real pictures: svg-to-raster (with hostile SVGs), vectorize, gif-tools,
pdf-to-image (with a PDF of thousands of pages)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import pyvips
from defusedxml.ElementTree import fromstring
from PIL import Image
from pydantic import ValidationError

from app.tools.base import CanvasTooLarge, ToolError, get_tool
from app.tools.pdf_to_image import MAX_PDF_PAGES
from tests.tools.helpers import run_tool, sample

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
       'width="100" height="50" viewBox="0 0 100 50">{body}</svg>')
DRAWING = ('<defs><circle id="dot" cx="75" cy="25" r="20" fill="#0000ff"/></defs>'
           '<rect width="50" height="50" fill="#ff0000"/><use xlink:href="#dot"/>')


def decoded(path: Path) -> Image.Image:
    """The decoded picture, its file closed."""
    with Image.open(path) as image:
        image.load()
        return image


def write_svg(tmp_path: Path, body: str, name: str = "drawing.svg", head: str = "") -> Path:
    path = tmp_path / name
    path.write_text(head + SVG.format(body=body), encoding="utf-8")
    return path


def bad_fields(tool_id: str, settings: dict, tmp_path: Path, files: list[Path]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        run_tool(tool_id, files, settings, workdir=tmp_path)
    return {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


# --- svg-to-raster --------------------------------------------------------------------------

def test_svg_renders_at_the_dpi_with_its_colours(tmp_path: Path) -> None:
    result = run_tool("svg-to-raster", [write_svg(tmp_path, DRAWING)], {"dpi": 144},
                      workdir=tmp_path)
    out = decoded(result.files[0].path)
    assert result.files[0].name == "drawing.png" and out.size == (200, 100)
    assert out.getpixel((50, 50)) == (255, 0, 0, 255)
    assert out.getpixel((150, 50)) == (0, 0, 255, 255)  # the <use> of an internal #fragment
    assert out.getpixel((110, 5))[3] == 0  # transparent background by default


def test_svg_fits_a_size_on_a_background_as_jpeg(tmp_path: Path) -> None:
    result = run_tool("svg-to-raster", [write_svg(tmp_path, DRAWING)],
                      {"width": 1000, "height": 1000, "backgroundColor": "#00FF00",
                       "outputFormat": "jpg"}, workdir=tmp_path)
    out = decoded(result.files[0].path)
    assert out.format == "JPEG" and out.size == (1000, 500)
    assert all(abs(a - b) < 8 for a, b in zip(out.getpixel((600, 20)), (0, 255, 0),
                                                strict=True))


HOSTILE = {
    "script": ('<script>alert(1)</script>' + DRAWING, "<script>"),
    "event handler": ('<rect width="10" height="10" onload="alert(1)"/>', "event handler"),
    "javascript url": ('<a href="javascript:alert(1)"><rect width="9" height="9"/></a>',
                       "javascript:"),
    "external href": ('<image href="http://127.0.0.1:9/x.png" width="9" height="9"/>',
                      "external resource"),
    "external xlink": ('<use xlink:href="file:///etc/passwd#x"/>', "external resource"),
    "css url": ('<rect width="9" height="9" style="fill:url(http://127.0.0.1:9/p)"/>',
                "external resource"),
    "style import": ('<style>@import url(http://127.0.0.1:9/s.css);</style>', "imports"),
    "foreignObject": ('<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p>'
                      '</foreignObject>', "<foreignObject>"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_svg_with_hostile_content_is_refused(tmp_path: Path, case: str) -> None:
    body, reason = HOSTILE[case]
    with pytest.raises(ToolError, match=reason.replace("(", r"\(")) as caught:
        run_tool("svg-to-raster", [write_svg(tmp_path, body)], workdir=tmp_path)
    assert caught.value.status == 422
    assert not any(p.suffix == ".png" for p in tmp_path.rglob("*"))


def test_svg_with_an_external_entity_is_refused(tmp_path: Path) -> None:
    head = '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    path = write_svg(tmp_path, '<text y="20">&xxe;</text>', head=head)
    with pytest.raises(ToolError, match="DOCTYPE"):
        run_tool("svg-to-raster", [path], workdir=tmp_path)
    laughs = ('<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n')
    with pytest.raises(ToolError, match="entities"):
        run_tool("svg-to-raster", [write_svg(tmp_path, "<text>&b;</text>", "l.svg", laughs)],
                 workdir=tmp_path)


def test_svg_embedded_picture_is_allowed_but_not_embedded_svg(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 255, 0)).save(buffer, "PNG")
    import base64
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    result = run_tool("svg-to-raster", [write_svg(
        tmp_path, f'<image href="{uri}" width="100" height="50" preserveAspectRatio="none"/>')],
        {"dpi": 72}, workdir=tmp_path)
    assert decoded(result.files[0].path).convert("RGB").getpixel((50, 25)) == (0, 255, 0)
    nested = '<image href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" width="9" height="9"/>'
    with pytest.raises(ToolError, match="external resource"):
        run_tool("svg-to-raster", [write_svg(tmp_path, nested, "n.svg")], workdir=tmp_path)


def test_svg_refuses_a_huge_canvas_and_bad_settings(tmp_path: Path) -> None:
    path = tmp_path / "huge.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="50000" height="50000">'
                    '<rect width="10" height="10"/></svg>')
    with pytest.raises(CanvasTooLarge):
        run_tool("svg-to-raster", [path], {"dpi": 72}, workdir=tmp_path)
    assert bad_fields("svg-to-raster", {"dpi": 10, "backgroundColor": "white"}, tmp_path,
                      [path]) == {"dpi", "backgroundColor"}
    not_svg = tmp_path / "page.svg"
    not_svg.write_text("<html><body>hi</body></html>")
    with pytest.raises(ToolError, match="not an SVG"):
        run_tool("svg-to-raster", [not_svg], workdir=tmp_path)


# --- vectorize ------------------------------------------------------------------------------

def svg_paths(path: Path) -> list:
    root = fromstring(path.read_bytes())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return [e for e in root.iter() if e.tag == "{http://www.w3.org/2000/svg}path"]


def test_vectorize_black_and_white(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.png"
    picture = Image.new("RGB", (200, 120), (255, 255, 255))
    picture.paste((0, 0, 0), (20, 20, 80, 100))
    picture.paste((30, 30, 30), (120, 40, 180, 90))
    picture.save(shapes)
    result = run_tool("vectorize", [shapes], {"pathMode": "polygon"}, workdir=tmp_path)
    assert result.files[0].name == "shapes.svg"
    paths = svg_paths(result.files[0].path)
    assert len(paths) >= 2 and {p.get("fill") for p in paths} == {"#000000"}
    assert result.data["paths"] == len(paths)


def test_vectorize_colour_photo(tmp_path: Path) -> None:
    result = run_tool("vectorize", [sample("chelsea", tmp_path)],
                      {"colorMode": "color", "colorPrecision": 16, "filterSpeckle": 8},
                      workdir=tmp_path)
    paths = svg_paths(result.files[0].path)
    assert len(paths) > 20 and len({p.get("fill") for p in paths}) > 10
    assert bad_fields("vectorize", {"colorMode": "grey", "cornerThreshold": 181}, tmp_path,
                      [sample("chelsea", tmp_path)]) == {"colorMode", "cornerThreshold"}


# --- gif-tools ------------------------------------------------------------------------------

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def animation(tmp_path: Path) -> Path:
    frames = [Image.new("RGB", (60, 40), color) for color in COLOURS]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100, 200, 300],
                   loop=0)
    return path


def frames_of(path: Path) -> list[tuple[tuple[int, int], int, tuple[int, int, int]]]:
    out = []
    with Image.open(path) as picture:
        for index in range(picture.n_frames):
            picture.seek(index)
            out.append((picture.size, picture.info["duration"],
                        picture.convert("RGB").getpixel((5, 5))))
    return out


def test_gif_speed_reverse_and_loop(tmp_path: Path) -> None:
    gif = animation(tmp_path)
    faster = run_tool("gif-tools", [gif], {"mode": "speed", "speedFactor": 2, "loop": 3},
                      workdir=tmp_path)
    assert faster.files[0].name == "anim_gif-tools.gif"
    assert [f[1] for f in frames_of(faster.files[0].path)] == [50, 100, 150]
    # "loop" counts plays (libvips, Sharp); the GIF stores the repeats after the first play.
    assert pyvips.Image.new_from_file(str(faster.files[0].path)).get("loop") == 3
    with Image.open(faster.files[0].path) as picture:
        assert picture.info["loop"] == 2
    fastest = run_tool("gif-tools", [gif], {"mode": "speed", "speedFactor": 10},
                       workdir=tmp_path)
    assert [f[1] for f in frames_of(fastest.files[0].path)] == [20, 20, 30]  # clamped at 20
    backwards = run_tool("gif-tools", [gif], {"mode": "reverse"}, workdir=tmp_path)
    assert [(f[1], f[2]) for f in frames_of(backwards.files[0].path)] == \
        [(300, COLOURS[2]), (200, COLOURS[1]), (100, COLOURS[0])]


def test_gif_resize_rotate_and_optimize_keep_every_frame(tmp_path: Path) -> None:
    gif = animation(tmp_path)
    resized = frames_of(run_tool("gif-tools", [gif], {"width": 30}, workdir=tmp_path)
                        .files[0].path)
    assert [f[0] for f in resized] == [(30, 20)] * 3 and [f[2] for f in resized] == COLOURS
    turned = frames_of(run_tool("gif-tools", [gif], {"mode": "rotate", "angle": 90,
                                                     "flipH": True}, workdir=tmp_path)
                       .files[0].path)
    assert [f[0] for f in turned] == [(40, 60)] * 3
    small = run_tool("gif-tools", [gif], {"mode": "optimize", "colors": 4}, workdir=tmp_path)
    assert [f[2] for f in frames_of(small.files[0].path)] == COLOURS
    assert get_tool("gif-tools").pipeline
    still = run_tool("gif-tools", [sample("chelsea", tmp_path, "jpg")],
                     {"mode": "rotate", "angle": 270}, workdir=tmp_path)  # a pipeline step
    assert frames_of(still.files[0].path)[0][0] == (300, 451)


def test_gif_extract_single_range_and_all(tmp_path: Path) -> None:
    gif = animation(tmp_path)
    single = run_tool("gif-tools", [gif], {"mode": "extract", "frameNumber": 1},
                      workdir=tmp_path)
    assert single.files[0].name == "anim_frame1.png"
    assert decoded(single.files[0].path).convert("RGB").getpixel((5, 5)) == COLOURS[1]
    every = run_tool("gif-tools", [gif], {"mode": "extract", "extractMode": "all",
                                          "extractFormat": "webp"}, workdir=tmp_path)
    with zipfile.ZipFile(every.files[0].path) as archive:
        assert archive.namelist() == ["anim_frame0.webp", "anim_frame1.webp",
                                      "anim_frame2.webp"]
        assert Image.open(archive.open("anim_frame2.webp")).convert("RGB").getpixel(
            (5, 5)) == COLOURS[2]
    part = run_tool("gif-tools", [gif], {"mode": "extract", "extractMode": "range",
                                         "frameStart": 1}, workdir=tmp_path)
    assert part.files[0].name == "anim_frames.zip" and part.data["frames"] == 2


def test_gif_tools_refuses_bad_settings(tmp_path: Path) -> None:
    gif = animation(tmp_path)
    assert bad_fields("gif-tools", {"mode": "rotate", "angle": 45}, tmp_path, [gif]) == \
        {"angle"}
    assert bad_fields("gif-tools", {"width": 50_000}, tmp_path, [gif]) == {"width"}
    with pytest.raises(ValidationError, match="width, a height or a percentage"):
        run_tool("gif-tools", [gif], {"mode": "resize"}, workdir=tmp_path)
    with pytest.raises(ToolError, match="frameNumber 7"):
        run_tool("gif-tools", [gif], {"mode": "extract", "frameNumber": 7}, workdir=tmp_path)
    with pytest.raises(CanvasTooLarge):
        run_tool("gif-tools", [gif], {"percentage": 500}, workdir=tmp_path, max_pixels=100_000)


# --- pdf-to-image ---------------------------------------------------------------------------

def photo_pdf(tmp_path: Path) -> Path:
    """A three-page PDF of photographs (Pillow embeds each at 72 dpi: 1 px = 1 pt)."""
    pages = [decoded(sample(name, tmp_path)).convert("RGB")
             for name in ("astronaut", "chelsea", "coffee")]
    path = tmp_path / "album.pdf"
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=72)
    return path


def test_pdf_pages_become_a_zip_of_pictures(tmp_path: Path) -> None:
    pdf = photo_pdf(tmp_path)
    result = run_tool("pdf-to-image", [pdf], {"dpi": 144}, workdir=tmp_path)
    assert result.data["pageCount"] == len(pdfium.PdfDocument(str(pdf))) == 3
    assert result.data["selectedPages"] == [1, 2, 3]
    with zipfile.ZipFile(result.files[0].path) as archive:
        assert archive.namelist() == ["album_page1.png", "album_page2.png", "album_page3.png"]
        second = Image.open(archive.open("album_page2.png")).convert("RGB")
    assert second.size == (902, 600)  # 451 × 300 points at 144 dpi
    cat = decoded(sample("chelsea", tmp_path)).convert("RGB").getpixel((100, 100))
    assert all(abs(a - b) < 30 for a, b in zip(second.getpixel((200, 200)), cat, strict=True))


def test_pdf_one_selected_page_in_grey(tmp_path: Path) -> None:
    pdf = photo_pdf(tmp_path)
    result = run_tool("pdf-to-image", [pdf], {"pages": "3", "colorMode": "grayscale",
                                              "format": "jpg", "dpi": 72}, workdir=tmp_path)
    out = decoded(result.files[0].path)
    assert result.files[0].name == "album_page3.jpg"
    assert out.format == "JPEG" and out.mode == "L" and out.size == (600, 400)
    bw = run_tool("pdf-to-image", [pdf], {"pages": "1-2", "colorMode": "bw", "dpi": 36},
                  workdir=tmp_path)
    with zipfile.ZipFile(bw.files[0].path) as archive:
        page = Image.open(archive.open("album_page1.png"))
        assert set(np.asarray(page).ravel().tolist()) <= {0, 255} and page.size == (256, 256)


def test_pdf_with_thousands_of_pages_is_refused_before_rendering(tmp_path: Path) -> None:
    document = pdfium.PdfDocument.new()
    for _ in range(5000):
        document.new_page(200, 200)
    path = tmp_path / "long.pdf"
    document.save(str(path))
    document.close()
    with pytest.raises(ToolError, match=f"5,000 pages; at most {MAX_PDF_PAGES}"):
        run_tool("pdf-to-image", [path], {"pages": "1"}, workdir=tmp_path)
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".png", ".zip")]


def test_pdf_page_too_large_at_the_dpi_and_bad_pages(tmp_path: Path) -> None:
    document = pdfium.PdfDocument.new()
    document.new_page(14_400, 14_400)  # 200 inches square: 480,000 pixels a side at 2400 dpi
    path = tmp_path / "poster.pdf"
    document.save(str(path))
    document.close()
    with pytest.raises(CanvasTooLarge):
        run_tool("pdf-to-image", [path], {"dpi": 2400}, workdir=tmp_path)
    with pytest.raises(ToolError, match="no page 4"):
        run_tool("pdf-to-image", [photo_pdf(tmp_path)], {"pages": "2-4"}, workdir=tmp_path)
    assert bad_fields("pdf-to-image", {"pages": "1,x", "dpi": 5000}, tmp_path,
                      [path]) == {"pages", "dpi"}
    assert bad_fields("pdf-to-image", {"pages": "3-1"}, tmp_path, [path]) == {"pages"}
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"garbage" * 50)
    with pytest.raises(ToolError, match="cannot open the PDF"):
        run_tool("pdf-to-image", [broken], workdir=tmp_path)
