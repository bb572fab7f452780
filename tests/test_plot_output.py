"""regnas-plot output: figure files that open, a self-contained report.html, and one-line errors with exit code 2."""
from __future__ import annotations

import base64
import io
import json
import shutil
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from regnas.cli.plot import main
from regnas.errors import ConfigError
from regnas.plot import RunFolderError, load_run, write_figures, write_report


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A copy of the finished tiny run, so that writing figures and reports leaves the shared fixture alone."""
    path = tmp_path / "run"
    shutil.copytree(tiny_run, path)
    return path


@pytest.fixture
def running_copy(run_copy: Path) -> Path:
    for name in ("result.json", "pareto.csv", "pareto.png", "report.html"):
        (run_copy / name).unlink()
    return run_copy


class PageParser(HTMLParser):
    """Collects what a self-contained page must not lack (images, tables) or have (outside references)."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.tables: dict[str, int] = {}
        self.external: list[str] = []
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag == "table":
            self._table = values.get("id") or "?"
            self.tables[self._table] = 0
        if tag == "tr" and self._table is not None:
            self.tables[self._table] += 1
        for key in ("src", "href"):
            if values.get(key) and not values[key].startswith("data:"):
                self.external.append(values[key])
        if tag in ("script", "link"):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


def parse_page(path: Path) -> PageParser:
    page = PageParser()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_search_writes_pareto_png(tiny_run):
    with Image.open(tiny_run / "pareto.png") as image:
        image.verify()
        assert image.format == "PNG"


def test_write_figures_of_a_running_run_in_every_format_open(running_copy):
    """The flip matrix needs result.json, so a running run gets three figures; the report embeds all four."""
    paths = write_figures(running_copy, formats="png,svg,pdf")
    assert sorted(p.name for p in paths) == sorted(f"{name}.{suffix}" for suffix in ("png", "svg", "pdf")
                                                   for name in ("pareto", "hypervolume", "parallel_coordinates"))
    assert sorted(p.name for p in (running_copy / "figures").iterdir()) == sorted(p.name for p in paths)
    for path in paths:
        if path.suffix == ".png":
            with Image.open(path) as image:
                image.verify()
        elif path.suffix == ".svg":
            root = ElementTree.parse(path).getroot()
            assert root.tag.endswith("svg")
            if path.stem == "pareto":
                assert any(e.get("id") == "front" for e in root.iter())
        else:
            assert path.read_bytes().startswith(b"%PDF")


def test_report_is_self_contained_with_tables(run_copy):
    result = json.loads((run_copy / "result.json").read_text())
    path = write_report(run_copy)
    assert path == run_copy / "report.html"
    page = parse_page(path)
    assert page.external == []
    assert len(page.images) == 4 + bool(result["platforms"])  # accuracy against latency where members have platforms
    for source in page.images:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        with Image.open(io.BytesIO(base64.b64decode(source[len(prefix):]))) as image:
            image.verify()
    size = len(result["family"])
    assert page.tables["family"] == 1 + size
    assert page.tables["flips"] == 1 + size * (size - 1)
    assert page.tables["front"] == 1 + len(result["front"])
    assert page.tables["config"] == 1 + len(json.loads((run_copy / "config.json").read_text()))
    assert {"seeds", "versions"} <= set(page.tables)
    assert all(member["arch"] in path.read_text() for member in result["family"])


def test_report_of_a_running_run(running_copy):
    page = parse_page(write_report(running_copy))
    assert "family" not in page.tables and "flips" not in page.tables
    assert page.tables["front"] > 1 and len(page.images) == 3


def test_cli_writes_figures_and_names_the_skipped(running_copy, tmp_path, capsys):
    assert main([str(running_copy), "--out", str(tmp_path / "out"), "--format", "svg", "--no-report"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == [str(tmp_path / "out" / f"{name}.svg")
                                    for name in ("pareto", "hypervolume", "parallel_coordinates")]
    assert "skipped flip_matrix: the flip matrix needs result.json" in captured.err
    assert not (running_copy / "report.html").exists()


@pytest.fixture
def running_copy_of_tiny(tiny_run: Path, tmp_path: Path) -> Path:
    path = tmp_path / "running"
    shutil.copytree(tiny_run, path)
    for name in ("result.json", "report.html"):  # what only a finished run has
        (path / name).unlink()
    return path


def test_cli_compare_writes_one_figure(run_copy, running_copy_of_tiny, tmp_path, capsys):
    assert main(["--compare", str(run_copy), str(running_copy_of_tiny), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "compare.png")]
    with Image.open(tmp_path / "compare.png") as image:
        image.verify()


def broken_history(folder: Path) -> list[str]:
    (folder / "history.jsonl").write_text("{not json\n")
    return [str(folder)]


@pytest.mark.parametrize("make_args, message", [
    (lambda tmp: [str(tmp / "missing")], "does not exist"),
    (lambda tmp: [str(tmp)], "is not a regnas run folder"),
    (broken_history, "line 1 is not JSON"),
    (lambda tmp: [str(tmp), "--format", "bmp"], "unknown figure format 'bmp'; allowed: png, svg, pdf"),
    (lambda tmp: ["--compare", str(tmp)], "at least two runs"),
])
def test_cli_bad_input_is_one_line_and_exit_2(make_args, message, tmp_path, capsys):
    assert main(make_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("regnas-plot: error: ") and message in err and err.count("\n") == 1


def test_bad_input_from_python_raises_regnas_errors(tmp_path, running_copy):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RunFolderError, match="is not a regnas run folder"):
        load_run(empty)
    with pytest.raises(ConfigError, match="unknown figure format 'jpg'"):
        write_figures(running_copy, formats="png,jpg")
    (running_copy / "history.jsonl").write_text("")
    with pytest.raises(RunFolderError, match="has not completed a generation"):
        load_run(running_copy)
