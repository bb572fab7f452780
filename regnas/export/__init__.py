"""Shipping a found family: each chosen member as ONNX, a torch.export program and a state dict, with model
cards, verified against what the search reported; written whole or not at all."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from regnas.export.card import family_card, family_markdown, member_card, member_markdown
from regnas.export.folder import check_out, staged
from regnas.export.formats import FILE_NAMES, FORMATS, module_runner, onnx_opset, parse_formats, write_member
from regnas.export.source import ExportSource, Member, open_run, read_run
from regnas.export.verify import ATOL, RTOL, Verification, verify
from regnas.io import atomic_write_json, atomic_write_text

__all__ = ["ATOL", "FORMATS", "RTOL", "ExportReport", "MemberExport", "Verification", "export_family"]

HOW_TO_LOAD = {
    "onnx": "onnxruntime.InferenceSession(path).run(['logits'], {'images': x})",
    "pt2": "torch.export.load(path).module()(x)",
    "state_dict": "regnas.load_model(path)  # or torch.load(path, weights_only=True)['state_dict']",
}


@dataclass(frozen=True)
class MemberExport:
    """The files of one exported member (final paths)."""

    name: str
    arch: str
    files: dict[str, Path]  # format -> file
    card: Path
    card_markdown: Path


@dataclass(frozen=True)
class ExportReport:
    """What ``export_family`` wrote and what its self-verification found (None with ``verify=False``)."""

    out: Path
    members: list[MemberExport]
    family_card: Path
    family_markdown: Path
    verification: Verification | None


def export_family(
    run_dir: str | Path,
    out: str | Path,
    members: Sequence[str] | None = None,
    formats: str | Sequence[str] = FORMATS,
    *,
    verify_outputs: bool = True,
    supernet: str | Path | None = None,
    data_path: str | Path | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Export the chosen family of a finished ``regnas-evolve`` run into the folder ``out``.

    ``members``: member names (default all); ``formats``: some of ``FORMATS``. Each member is the sub-network
    the search evaluated (cut from the run's supernet, BatchNorm recalibrated on the run's calibration split).
    With ``verify_outputs`` every file's logits are compared with PyTorch's (``ATOL``, ``RTOL``) on the run's
    validation and test images and its predictions must give the run's accuracies and NF. ``supernet`` and
    ``data_path`` replace the run's recorded paths (the supernet must have the run's checksum). Everything is
    written into a temporary folder beside ``out`` and renamed to ``out`` at the end; any failure leaves
    ``out`` as it was. An ``out`` holding an earlier export is replaced only with ``overwrite``.
    """
    formats = parse_formats(formats)
    record = read_run(run_dir)
    chosen = record.select(members)
    out = check_out(out, overwrite=overwrite)
    source = open_run(record, supernet=supernet, data_path=data_path)
    with staged(out) as folder:
        models = {m.name: source.model(m) for m in source.family}
        example = source.data.normalize(source.data.calibration.images[:2])
        files: dict[tuple[str, str], Path] = {}
        for member in chosen:
            (folder / member.name).mkdir()
            written = write_member(folder / member.name, formats, models[member.name], example,
                                   space=source.space.name, settings=source.supernet.settings, arch=member.arch,
                                   meta=state_dict_meta(source, member))
            files.update({(member.name, fmt): path for fmt, path in written.items()})
        verification = verify(source, files, {name: module_runner(m) for name, m in models.items()}) if verify_outputs else None
        cards = []
        for member in chosen:
            mine = {fmt: files[(member.name, fmt)] for fmt in formats}
            card = member_card(source, member, mine, folder, verification, format_notes(formats, mine))
            atomic_write_json(folder / member.name / "card.json", card)
            atomic_write_text(folder / member.name / "card.md", member_markdown(card))
            cards.append(card)
        family = family_card(source, cards, verification)
        atomic_write_json(folder / "family.json", family)
        atomic_write_text(folder / "family.md", family_markdown(family))
    exported = [MemberExport(m.name, m.arch, {fmt: out / m.name / FILE_NAMES[fmt] for fmt in formats},
                             out / m.name / "card.json", out / m.name / "card.md") for m in chosen]
    return ExportReport(out, exported, out / "family.json", out / "family.md", verification)


def state_dict_meta(source: ExportSource, member: Member) -> dict[str, object]:
    """Plain metadata stored with the state dict: where the member comes from and what the run measured."""
    return {"member": member.name, "run": str(source.run_dir.resolve()), "supernet_checksum": source.checksum,
            "test_accuracy": float(member.reported["accuracy"]),
            "validation_accuracy": float(member.reported["validation_accuracy"])}


def format_notes(formats: Sequence[str], files: dict[str, Path]) -> dict[str, object]:
    notes: dict[str, dict[str, object]] = {fmt: {"load": HOW_TO_LOAD[fmt]} for fmt in formats}
    for fmt in {"onnx", "pt2"} & set(notes):
        notes[fmt]["batch"] = "dynamic"
    if "onnx" in notes:
        notes["onnx"].update(exporter="torch.onnx.export(dynamo=True)", opset=onnx_opset(files["onnx"]))
    return {"formats": notes}
