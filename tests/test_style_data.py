"""`livegen train style-data` gathers colour photos from package folders, keeps a stable held-out
split, skips charts and duplicates, and records where every image and style came from."""

from __future__ import annotations

import json

import cv2
import numpy as np

from livegen.train import style_data


def photo(seed, h=200, w=260):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (h // 10, w // 10, 3), dtype=np.uint8)
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)


def test_photos_are_gathered_split_and_credited(tmp_path, monkeypatch):
    pkg = tmp_path / "usr_share" / "pics"
    pkg.mkdir(parents=True)
    for i in range(30):
        cv2.imwrite(str(pkg / f"photo{i}.jpg"), photo(i))
    cv2.imwrite(str(pkg / "copy_of_photo0.jpg"), photo(0))  # the same file under another name
    cv2.imwrite(str(pkg / "grey.png"), np.full((200, 200, 3), 128, np.uint8))  # no colour: not a photo
    cv2.imwrite(str(pkg / "opencv-logo.png"), photo(99))  # excluded by name
    style = tmp_path / "painting.jpg"
    cv2.imwrite(str(style), photo(7, 300, 400))
    monkeypatch.setattr(style_data, "PY_PHOTO_DIRS", [])
    monkeypatch.setattr(style_data, "DEBIAN_PHOTO_DIRS", [(str(pkg), "Debian test-pics", "CC0"),
                                                         ("/nonexistent/dir", "Debian absent", "?")])
    monkeypatch.setattr(style_data, "STYLES", [style_data.StyleSource("paint", "A painting", str(style),
                                                                      "Debian test-art", "public domain")])
    notes = []
    index = style_data.assemble(tmp_path / "out", log=notes.append)
    files = [e["file"] for e in index["train"] + index["heldout"]]
    assert not any("grey" in f or "logo" in f for f in files)
    assert len(files) == 30, "the duplicate of photo0 is stored once"
    assert index["heldout"] and len(index["heldout"]) < len(index["train"])
    assert any("Debian absent" in n for n in notes)
    assert index["styles"] == [{"key": "paint", "title": "A painting", "file": "styles/paint.jpg",
                                "source": "Debian test-art", "licence": "public domain", "origin": str(style)}]
    assert json.loads((tmp_path / "out" / "index.json").read_text()) == index
    # The split depends only on names: a second assembly holds out the same photos.
    again = style_data.assemble(tmp_path / "out2", log=notes.append)
    assert [e["file"] for e in again["heldout"]] == [e["file"] for e in index["heldout"]]
    stored = cv2.imread(str(tmp_path / "out" / files[0]))
    assert max(stored.shape[:2]) <= style_data.MAX_SIDE
