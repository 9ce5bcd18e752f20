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
