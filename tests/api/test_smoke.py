def test_world_builds_and_files(world):
    manifest_no = world.file()
    assert manifest_no.startswith("WF-150202-")
    response = world.get(f"/v1/manifests/{manifest_no}", "generator")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "filed"
