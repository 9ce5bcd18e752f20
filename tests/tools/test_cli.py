"""``salon tools`` and ``salon pipelines`` through the click runner, on the test app."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from app.cli import main
from app.queries.settings import set_setting
from tests.conftest import jpeg_bytes
from tests.tools.infra import upload


def invoke(app, args: list[str]):
    """Like the ``runner`` fixture, but errors are exit codes here, not exceptions."""
    return CliRunner().invoke(main, args, obj=app)


def test_list_plain_and_json(app) -> None:
    plain = invoke(app, ["tools", "list"])
    assert plain.exit_code == 0 and "Essentials:" in plain.output and "resize" in plain.output
    body = json.loads(invoke(app, ["tools", "list", "--json"]).output)
    resize = next(tool for tool in body["tools"] if tool["id"] == "resize")
    width = resize["settings"]["properties"]["width"]["anyOf"][0]
    assert width == {"type": "number", "exclusiveMinimum": 0}


def test_run_writes_the_output_file(app, tmp_path: Path) -> None:
    source = tmp_path / "in.jpg"
    source.write_bytes(jpeg_bytes((300, 200)))
    out = tmp_path / "out.jpg"
    result = invoke(app, ["tools", "run", "resize", str(source), "--set", "width=150",
                          "--set", "fit=fill", "--set", "height=50", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.size == (150, 50) and image.format == "JPEG"
    assert json.loads(result.stdout)["width"] == 150


def test_data_only_tools_need_no_output_and_file_tools_say_so(app, tmp_path: Path) -> None:
    folder = tmp_path / "here"
    folder.mkdir()
    source = folder / "in.png"
    Image.new("RGB", (40, 30), "red").save(source)
    info = invoke(app, ["tools", "run", "info", str(source)])
    assert info.exit_code == 0, info.output
    assert json.loads(info.stdout)["width"] == 40
    resize = invoke(app, ["tools", "run", "resize", str(source), "--set", "width=10"])
    assert resize.exit_code == 1
    assert "give -o" in resize.output and "in_resize.png" in resize.output
    assert sorted(p.name for p in folder.iterdir()) == ["in.png"]


def test_reading_a_barcode_prints_it_and_keeps_the_outline_only_when_asked(
        app, tmp_path: Path) -> None:
    folder = tmp_path / "here"
    folder.mkdir()
    code = folder / "code.png"
    assert invoke(app, ["tools", "run", "qr-generate", "--set", "text=salon-cli",
                        "-o", str(code)]).exit_code == 0
    read = invoke(app, ["tools", "run", "barcode-read", str(code)])
    assert read.exit_code == 0, read.output
    assert [found["text"] for found in json.loads(read.stdout)["barcodes"]] == ["salon-cli"]
    assert "code_annotated.png" in read.stderr and "-o" in read.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["code.png"]
    kept = invoke(app, ["tools", "run", "barcode-read", str(code), "-o", str(folder / "a.png")])
    assert kept.exit_code == 0 and (folder / "a.png").stat().st_size > 0


def test_settings_json_and_a_folder_for_outputs(app, tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    Image.new("RGB", (40, 30), "red").save(source)
    out = tmp_path / "results"
    out.mkdir()
    result = invoke(app, ["tools", "run", "convert", str(source), "--settings",
                          '{"format": "webp"}', "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["in.webp"]


def test_invalid_settings_and_disabled_tools_are_clear_errors(app, db, tmp_path: Path) -> None:
    source = tmp_path / "in.jpg"
    source.write_bytes(jpeg_bytes())
    bad = invoke(app, ["tools", "run", "resize", str(source), "--set", "width=-2",
                       "--set", "fit=squash", "-o", str(tmp_path / "x.jpg")])
    assert bad.exit_code == 1
    assert "invalid settings" in bad.stderr and "width:" in bad.stderr and "fit:" in bad.stderr
    set_setting(db, "disabled_tools", ["resize"])
    off = invoke(app, ["tools", "run", "resize", str(source), "--set", "width=2",
                       "-o", str(tmp_path / "x.jpg")])
    assert off.exit_code == 1 and "disabled" in off.stderr
    assert not (tmp_path / "x.jpg").exists()
    assert "  resize " not in invoke(app, ["tools", "list"]).output


def test_a_file_that_is_not_a_picture_is_refused(app, tmp_path: Path) -> None:
    source = tmp_path / "note.jpg"
    source.write_text("just text")
    result = invoke(app, ["tools", "run", "resize", str(source), "--set", "width=2",
                          "-o", str(tmp_path / "x.jpg")])
    assert result.exit_code == 1 and "error:" in result.stderr


def test_pipelines_create_list_run_as_versions_and_zip(app, alice, tmp_path: Path) -> None:
    picture = upload(alice)
    created = invoke(app, ["pipelines", "create", "small", "--user", "alice",
                           "--step", 'resize:{"width": 64}', "--step", "strip-metadata"])
    assert created.exit_code == 0, created.output
    listed = json.loads(invoke(app, ["pipelines", "list", "--user", "alice", "--json"]).output)
    assert [step["tool"] for step in listed["pipelines"][0]["steps"]] == ["resize",
                                                                          "strip-metadata"]
    ran = invoke(app, ["pipelines", "run", "small", "--user", "alice", "--image", str(picture)])
    assert ran.exit_code == 0, ran.output
    assert f"picture {picture}: succeeded new picture" in ran.output

    archive = tmp_path / "out.zip"
    zipped = invoke(app, ["pipelines", "run", "small", "--user", "alice", "--query", "",
                          "--zip", str(archive)])
    assert zipped.exit_code == 0, zipped.output
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert len(names) == 2  # the picture and its new version
        with Image.open(io.BytesIO(opened.read(names[0]))) as image:
            assert image.width == 64


def test_pipeline_with_a_disabled_step_is_refused(app, db, alice) -> None:
    picture = upload(alice)
    assert invoke(app, ["pipelines", "create", "p", "--user", "alice",
                        "--step", 'rotate:{"angle": 90}']).exit_code == 0
    set_setting(db, "disabled_tools", ["rotate"])
    ran = invoke(app, ["pipelines", "run", "p", "--user", "alice", "--image", str(picture)])
    assert ran.exit_code == 1 and "Step 1 (rotate)" in ran.stderr
    made = invoke(app, ["pipelines", "create", "q", "--user", "alice", "--step", "rotate"])
    assert made.exit_code == 1 and "disabled" in made.stderr


def test_pipelines_delete_by_name_only_the_owners(app, alice, bob) -> None:
    assert invoke(app, ["pipelines", "create", "tidy", "--user", "alice",
                        "--step", "strip-metadata"]).exit_code == 0
    other = invoke(app, ["pipelines", "delete", "tidy", "--user", "bob"])
    assert other.exit_code == 1 and "No pipeline named 'tidy'" in other.output
    deleted = invoke(app, ["pipelines", "delete", "tidy", "--user", "alice"])
    assert deleted.exit_code == 0 and "deleted pipeline" in deleted.output
    assert json.loads(invoke(app, ["pipelines", "list", "--user", "alice", "--json"]).output) == {
        "pipelines": []}
    again = invoke(app, ["pipelines", "delete", "tidy", "--user", "alice"])
    assert again.exit_code == 1


def test_admins_turn_tools_off_and_on_from_the_command_line(app, alice, tmp_path: Path) -> None:
    off = invoke(app, ["tools", "disable", "resize", "saturation"])  # an alias of adjust-colors
    assert off.exit_code == 0 and off.output.strip() == "disabled: adjust-colors, resize"
    listed = invoke(app, ["tools", "list"]).output
    assert "  resize " not in listed
    assert "Disabled by the admin: adjust-colors, resize" in listed
    source = tmp_path / "in.jpg"
    source.write_bytes(jpeg_bytes((30, 20)))
    refused = invoke(app, ["tools", "run", "resize", str(source), "--set", "width=5",
                           "-o", str(tmp_path / "out.jpg")])
    assert refused.exit_code == 1 and "disabled" in refused.stderr
    unknown = invoke(app, ["tools", "disable", "nope"])
    assert unknown.exit_code == 1 and "No tool named 'nope'" in unknown.stderr
    on = invoke(app, ["tools", "enable", "resize"])
    assert on.exit_code == 0 and on.output.strip() == "disabled: adjust-colors"
    assert invoke(app, ["tools", "enable", "adjust-colors"]).output.strip() == "disabled: none"
