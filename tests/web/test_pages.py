"""The street list page."""

from grids_inline import collection, rect

from geogrid.boundaries.grids import read_grids


def test_index_lists_streets_with_their_grid_counts(client):
    page = client.get("/streets").get_data(as_text=True)
    assert "林山寨街道" in page and "410102002" in page
    assert '<td class="n">3</td>' in page  # grids of street 001


def test_names_are_escaped(store, client):
    store.import_grids(
        read_grids(
            collection(
                [rect("410102001", "<img src=x onerror=alert(1)>", 113.5, 34.7, 113.6, 34.8)]
            )
        )
    )
    page = client.get("/streets").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_empty_store_says_how_to_import(store_url):
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": store_url})
    page = app.test_client().get("/").get_data(as_text=True)
    assert "geogrid import-grids" in page
