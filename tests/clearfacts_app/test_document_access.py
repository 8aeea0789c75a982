"""Who may open the upload page: members and office administrators; viewers only look."""


def test_viewers_get_403_on_the_upload_page_and_no_link_to_it(client, viewer, administration):
    client.force_login(viewer)
    number = administration.company_number

    upload = client.get(f"/administrations/{number}/documents/upload/")
    detail = client.get(f"/administrations/{number}/")

    assert upload.status_code == 403 and "not upload" in upload.text
    assert detail.status_code == 200 and 'data-testid="upload-link"' not in detail.text


def test_members_get_the_link_to_the_upload_page(client, member, administration):
    client.force_login(member)

    detail = client.get(f"/administrations/{administration.company_number}/")

    assert 'data-testid="upload-link"' in detail.text
