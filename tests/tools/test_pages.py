"""Tool pages: index by category, forms generated from settings models, the picture
page's tools menu and versions strip, pipelines, runs, and the admin's switches."""

from __future__ import annotations

from app.queries.settings import get_setting, set_setting
from app.tools.base import all_tools
from tests.tools.infra import post_json, post_tool, run_jobs, upload


def test_nav_links_to_the_tools_index_grouped_by_category(alice) -> None:
    home = alice.page("/")
    assert home.find("a", href="/tools") is not None
    soup = alice.page("/tools")
    headings = [h.get_text() for h in soup.select(".tools-index h2")]
    assert headings[0] == "Essentials"
    listed = {a["data-tool"] for a in soup.select("a[data-tool]")}
    assert listed == {tool.id for tool in all_tools()}


def test_resize_form_is_generated_from_its_settings_model(alice) -> None:
    soup = alice.page("/tools/resize")
    width = soup.find("input", attrs={"name": "width"})
    assert width["type"] == "number" and width["min"] == "0" and width["step"] == "any"
    fit = soup.find("select", attrs={"name": "fit"})
    assert [o["value"] for o in fit.find_all("option")] == ["contain", "cover", "fill",
                                                             "inside", "outside"]
    assert fit.find("option", selected=True)["value"] == "contain"
    assert soup.find("input", attrs={"name": "withoutEnlargement"})["type"] == "checkbox"
    assert "Target width in pixels." in soup.find(attrs={"data-setting": "width"}).get_text()
    assert soup.find(id="tool")["data-cheap"] == "1"


def test_colour_fields_and_extra_inputs(alice) -> None:
    soup = alice.page("/tools/replace-color")
    colour = soup.find("input", attrs={"name": "sourceColor"})
    assert colour["type"] == "color" and colour["value"] == "#ff0000"
    compose = alice.page("/tools/compose")
    assert compose.find("input", attrs={"name": "overlay", "type": "file"}) is not None


def test_every_tool_page_renders(alice) -> None:
    for tool in all_tools():
        alice.page(f"/tools/{tool.id}")


def test_start_from_a_picture_and_the_picture_page_menu(alice, bob) -> None:
    picture = upload(alice)
    show = alice.page(f"/images/{picture}")
    menu = show.find(id="picture-tools")
    assert menu.find("a", href=f"/tools/resize?image={picture}") is not None
    soup = alice.page(f"/tools/resize?image={picture}")
    assert soup.find("input", attrs={"name": "image_id"})["value"] == str(picture)
    assert soup.find("input", attrs={"name": "save", "value": "version"}) is not None
    bob.page(f"/tools/resize?image={picture}", status=404)


def test_versions_strip_shows_parent_and_children_with_tool_names(app, alice, bob) -> None:
    source = upload(alice)
    job_id = post_tool(alice, "resize", {"image_id": str(source),
                                         "settings": {"width": 100}}).get_json()["job_id"]
    run_jobs(app)
    child = alice.client.get(f"/api/v1/tools/runs/{job_id}").get_json()["result"]["outputs"][0]
    child_id = child["image_id"]
    job_id = post_tool(alice, "rotate", {"image_id": str(child_id),
                                         "settings": {"angle": 90}}).get_json()["job_id"]
    run_jobs(app)
    grandchild = alice.client.get(f"/api/v1/tools/runs/{job_id}").get_json()
    grandchild_id = grandchild["result"]["outputs"][0]["image_id"]

    strip = alice.page(f"/images/{source}").find(id="versions")
    children = strip.select('[data-relation="descendant"]')
    assert [(li["data-version"], li.small.get_text().strip()) for li in children] == [
        (str(child_id), "resize"), (str(grandchild_id), "rotate (2)")]
    middle = alice.page(f"/images/{child_id}").find(id="versions")
    assert [li["data-version"] for li in middle.select('[data-relation="ancestor"]')] == [
        str(source)]
    assert middle.select_one('[data-relation="self"] small').get_text().strip() == "resize"


def test_disabled_tool_hidden_and_its_page_refused(db, alice) -> None:
    set_setting(db, "disabled_tools", ["rotate"])
    soup = alice.page("/tools")
    assert soup.find("a", attrs={"data-tool": "rotate"}) is None
    alice.page("/tools/rotate", status=403)
    picture = upload(alice)
    menu = alice.page(f"/images/{picture}").find(id="picture-tools")
    assert menu.find("a", href=f"/tools/rotate?image={picture}") is None


def test_admin_switches_tools_off_and_on(app, db, make_user, alice) -> None:
    from tests.conftest import Browser

    make_user("root", role="admin")
    admin = Browser(app.test_client())
    admin.login("root")
    form = admin.page("/admin/tools").find(id="tool-switches")
    enabled = [box["value"] for box in form.find_all("input", attrs={"name": "enabled"})]
    keep = [tool_id for tool_id in enabled if tool_id not in ("rotate", "qr-generate")]
    assert admin.post("/admin/tools", {"enabled": keep}).status_code == 302
    assert get_setting(db, "disabled_tools") == ["qr-generate", "rotate"]
    assert alice.client.get("/admin/tools").status_code == 403


def test_pipelines_page_create_run_on_search_and_see_the_run(app, alice) -> None:
    picture = upload(alice)
    response = alice.post("/tools/pipelines", {
        "name": "small", "steps": '[{"tool": "resize", "settings": {"width": 50}}]'})
    assert response.status_code == 302
    soup = alice.page("/tools/pipelines")
    article = soup.find("article", attrs={"data-pipeline": "small"})
    run_url = article.find("form")["action"]
    ran = alice.post(run_url, {"source": "query", "q": "", "mode": "zip"})
    assert ran.status_code == 302 and "/tools/runs/" in ran.headers["Location"]
    run_jobs(app)
    page = alice.page(ran.headers["Location"])
    assert page.select_one('#run-items tr[data-position="0"] a')["href"] == f"/images/{picture}"
    assert page.select_one("#run-items td.state").get_text() == "succeeded"


def test_pipeline_form_errors_are_shown_with_the_input_kept(alice) -> None:
    response = alice.post("/tools/pipelines", {
        "name": "bad", "steps": '[{"tool": "resize", "settings": {"width": -5}}]'})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "steps.0.settings.width" in text and 'value="bad"' in text


def test_grid_selection_runs_a_pipeline(app, alice) -> None:
    pictures = [upload(alice, name) for name in ("astronaut", "chelsea")]
    created = post_json(alice, "/api/v1/pipelines", {
        "name": "tiny", "steps": [{"tool": "resize", "settings": {"width": 20}}]}).get_json()
    bar = alice.page("/mine").find(attrs={"data-run-pipeline": True})
    assert bar["formaction"] == f"/tools/pipelines/{created['id']}/run"
    ran = alice.post(bar["formaction"], {"ids": [str(p) for p in pictures], "scope": "mine",
                                         "mode": "version"})
    assert ran.status_code == 302
    run_jobs(app)
    job_id = int(ran.headers["Location"].rsplit("/", 1)[-1])
    run = alice.client.get(f"/api/v1/tools/runs/{job_id}").get_json()
    assert run["counts"]["succeeded"] == 2
    assert {item["image_id"] for item in run["items"]} == set(pictures)


def test_runs_of_others_are_not_found(app, alice, bob) -> None:
    job_id = post_tool(alice, "resize", {"image_id": str(upload(alice)),
                                         "settings": {"width": 10}}).get_json()["job_id"]
    bob.page(f"/tools/runs/{job_id}", status=404)
    alice.page(f"/tools/runs/{job_id}")


# -- the tool page's layout and fields ---------------------------------------------------


def test_tool_page_has_form_and_a_side_column_for_preview_and_result(alice) -> None:
    soup = alice.page("/tools/adjust-colors")
    layout = soup.select_one(".tool-layout")
    assert [child.name for child in layout.find_all(recursive=False)] == ["form", "aside"]
    side = layout.find("aside")
    assert side.find(id="tool-preview") is not None and side.find(id="tool-result") is not None
    assert layout.find("form").find(id="tool-run") is not None


def test_bounded_numbers_get_a_slider_next_to_the_submitted_number_box(alice) -> None:
    soup = alice.page("/tools/adjust-colors")
    box = soup.find("input", attrs={"name": "brightness"})
    assert box["type"] == "number" and box["min"] == "-100" and box["max"] == "100"
    slider = soup.find("input", attrs={"data-slider-for": box["id"]})
    assert slider["type"] == "range" and not slider.has_attr("name")
    assert (slider["min"], slider["max"], slider["value"], slider["step"]) == (
        "-100", "100", "0", "1")
    assert soup.find("label", attrs={"for": box["id"]}).get_text().strip() == "Brightness"
    # an unbounded number (resize's width) has no slider
    resize = alice.page("/tools/resize")
    width = resize.find("input", attrs={"name": "width"})
    assert resize.find("input", attrs={"data-slider-for": width["id"]}) is None


def test_numeric_choices_are_submitted_as_numbers(alice) -> None:
    soup = alice.page("/tools/sharpening")
    assert soup.find("select", attrs={"name": "kernelSize"})["data-kind"] == "number"
    assert soup.find("select", attrs={"name": "method"})["data-kind"] == "select"


# -- the server-rendered step editor -----------------------------------------------------


def _form_data(soup, form_id: str = "pipeline-form") -> dict[str, str]:
    """What a browser would submit from the form (without the pressed button)."""
    form = soup.find(id=form_id)
    data: dict[str, str] = {}
    for node in form.find_all(["input", "select", "textarea"]):
        name = node.get("name")
        if not name or (node.name == "input" and node.get("type") == "checkbox" and \
                not node.has_attr("checked")):
            continue
        if node.name == "select":
            chosen = node.find("option", selected=True) or node.find("option")
            data[name] = chosen["value"] if chosen else ""
        elif node.name == "textarea":
            data[name] = node.get_text()
        else:
            data[name] = node.get("value", "on" if node.get("type") == "checkbox" else "")
    data.pop("csrf_token", None)
    return data


def _press(user, url: str, soup, action: str, **changes: str):
    data = {**_form_data(soup), **changes, "action": action}
    return user.post(url, data)


def _steps(user) -> dict[str, list]:
    listed = user.client.get("/api/v1/pipelines").get_json()["pipelines"]
    return {p["name"]: [(s["tool"], s["settings"]) for s in p["steps"]] for p in listed}


def test_step_editor_builds_reorders_and_removes_steps(alice) -> None:
    from bs4 import BeautifulSoup

    index = alice.page("/tools/pipelines")
    new_url = index.find(id="new-pipeline")["href"]
    soup = alice.page(new_url)
    assert soup.find(id="no-steps") is not None
    options = [o["value"] for o in soup.find("select", attrs={"name": "add_tool"})("option")]
    assert "resize" in options and "info" not in options  # only pipeline-capable tools

    def press(page, action, url=new_url, **changes):
        response = _press(alice, url, page, action, **changes)
        assert response.status_code == 200, response.get_data(as_text=True)
        return BeautifulSoup(response.get_data(as_text=True), "html.parser")

    soup = press(soup, "add", name="two", add_tool="resize")
    width = soup.find("input", attrs={"name": "steps-0-width"})
    assert width["type"] == "number" and soup.find("select", attrs={"name": "steps-0-fit"})
    soup = press(soup, "add", add_tool="rotate", **{"steps-0-width": "50"})
    assert [li["data-tool"] for li in soup.select("li.pipeline-step")] == ["resize", "rotate"]
    assert soup.find("input", attrs={"name": "steps-0-width"})["value"] == "50"  # kept
    assert _steps(alice) == {}  # nothing stored before "Save"

    saved = _press(alice, new_url, soup, "save", **{"steps-1-angle": "90"})
    assert saved.status_code == 302
    stored = _steps(alice)["two"]
    assert [tool for tool, _ in stored] == ["resize", "rotate"]
    assert stored[0][1]["width"] == 50 and stored[1][1]["angle"] == 90

    edit = alice.page("/tools/pipelines").find("article", attrs={"data-pipeline": "two"})
    edit_url = edit.find("a", attrs={"data-edit": True})["href"]
    soup = alice.page(edit_url)
    assert soup.find("input", attrs={"name": "steps-1-angle"})["value"] == "90"
    soup = press(soup, "up-1", url=edit_url)
    assert [li["data-tool"] for li in soup.select("li.pipeline-step")] == ["rotate", "resize"]
    assert soup.find("input", attrs={"name": "steps-1-width"})["value"] == "50"
    assert [tool for tool, _ in _steps(alice)["two"]] == ["resize", "rotate"]  # not yet saved
    assert _press(alice, edit_url, soup, "save").status_code == 302
    assert [tool for tool, _ in _steps(alice)["two"]] == ["rotate", "resize"]

    soup = press(alice.page(edit_url), "remove-0", url=edit_url)
    assert [li["data-tool"] for li in soup.select("li.pipeline-step")] == ["resize"]
    assert _press(alice, edit_url, soup, "save").status_code == 302
    assert _steps(alice)["two"] == [("resize", stored[0][1])]


def test_step_editor_shows_invalid_settings_next_to_the_field(alice) -> None:
    from bs4 import BeautifulSoup

    created = post_json(alice, "/api/v1/pipelines", {
        "name": "keep", "steps": [{"tool": "resize", "settings": {"width": 40}},
                                  {"tool": "sharpening", "settings": {}}]}).get_json()
    url = f"/tools/pipelines/{created['id']}"
    soup = alice.page(url)
    response = _press(alice, url, soup, "save", **{"steps-0-width": "-5",
                                                   "steps-1-kernelSize": "5"})
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    error = page.find(attrs={"data-error-for": "steps-0-width"})
    assert not error.has_attr("hidden") and "greater than 0" in error.get_text()
    assert "invalid" in error.parent["class"]
    assert page.find(attrs={"data-error-for": "steps-1-kernelSize"}).has_attr("hidden")
    assert page.find("input", attrs={"name": "steps-0-width"})["value"] == "-5"  # kept
    assert page.find(id="editor-error") is not None
    assert _steps(alice)["keep"][0][1]["width"] == 40  # unchanged

    fixed = _press(alice, url, page, "save", **{"steps-0-width": "30"})
    assert fixed.status_code == 302
    stored = _steps(alice)["keep"]
    assert stored[0][1]["width"] == 30 and stored[1][1]["kernelSize"] == 5


def test_step_editor_names_a_missing_name_and_refuses_other_users(alice, bob) -> None:
    from bs4 import BeautifulSoup

    soup = alice.page("/tools/pipelines/new")
    added = _press(alice, "/tools/pipelines/new", soup, "add", add_tool="rotate")
    page = BeautifulSoup(added.get_data(as_text=True), "html.parser")
    response = _press(alice, "/tools/pipelines/new", page, "save", name="")
    assert response.status_code == 400
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert "name" in page.find(attrs={"data-error-for": "name"}).get_text()
    assert [li["data-tool"] for li in page.select("li.pipeline-step")] == ["rotate"]
    assert _press(alice, "/tools/pipelines/new", page, "up-7").status_code == 400
    assert _press(alice, "/tools/pipelines/new", page, "add",
                  add_tool="info").status_code == 400  # not a pipeline step
    created = post_json(alice, "/api/v1/pipelines", {
        "name": "mine", "steps": [{"tool": "rotate", "settings": {"angle": 90}}]}).get_json()
    bob.page(f"/tools/pipelines/{created['id']}", status=404)
    assert bob.post(f"/tools/pipelines/{created['id']}", {"action": "save"}).status_code == 404


def test_step_editor_loads_steps_from_json(alice) -> None:
    from bs4 import BeautifulSoup

    soup = alice.page("/tools/pipelines/new")
    loaded = _press(alice, "/tools/pipelines/new", soup, "json", name="j", steps_json=(
        '[{"tool": "rotate", "settings": {"angle": 180}}, {"tool": "resize", '
        '"settings": {"width": 10}}]'))
    assert loaded.status_code == 200
    page = BeautifulSoup(loaded.get_data(as_text=True), "html.parser")
    assert [li["data-tool"] for li in page.select("li.pipeline-step")] == ["rotate", "resize"]
    assert page.find("input", attrs={"name": "steps-0-angle"})["value"] == "180"
    bad = _press(alice, "/tools/pipelines/new", page, "json", steps_json="{nope")
    assert bad.status_code == 400
    assert _press(alice, "/tools/pipelines/new", page, "save").status_code == 302
    assert [tool for tool, _ in _steps(alice)["j"]] == ["rotate", "resize"]


def test_hex_colours_get_a_picker_and_tools_without_settings_no_preview(alice) -> None:
    qr = alice.page("/tools/qr-generate")
    assert qr.find("input", attrs={"name": "foreground"})["type"] == "color"
    assert qr.find("input", attrs={"name": "background"})["value"] == "#ffffff"
    assert alice.page("/tools/info").find(id="tool")["data-cheap"] == "0"
    assert alice.page("/tools/crop").find(id="tool")["data-cheap"] == "1"
