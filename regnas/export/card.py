"""Model cards of an export, per member and per family: JSON for tools, Markdown for people."""
from __future__ import annotations

import hashlib
import platform as platform_module
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from regnas import __version__
from regnas.export.folder import FAMILY_FORMAT
from regnas.export.formats import INPUT_NAME, OUTPUT_NAME
from regnas.export.source import ExportSource, Member
from regnas.export.verify import Verification

CARD_FORMAT = "regnas-model-card/1"
PACKAGES = ("torch", "onnx", "onnxruntime", "onnxscript", "numpy")


def versions() -> dict[str, str]:
    found = {"regnas": __version__, "python": platform_module.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def platform_latencies(source: ExportSource, arch: str) -> dict[str, dict[str, Any]]:
    """Predicted latency on every registered platform whose table prices this space, at the table's settings."""
    from regnas.latency import get_platform, list_platforms

    run_platforms = source.result.get("platforms") or []
    out = {}
    for name in list_platforms():
        table = get_platform(name)
        if table.meta["space"] != source.space.name:
            continue
        out[name] = {"ms": float(table.predict(arch)), "batch": table.meta["batch"],
                     "network_settings": dict(table.meta["settings"]), "searched_on": name in run_platforms,
                     "device": table.meta.get("device_name", table.meta["device"])}
    return out


def common(source: ExportSource) -> dict[str, Any]:
    """What every card of one export shares: input contract, supernet, data, run, versions."""
    data, result = source.data, source.result
    return {
        "space": source.space.name,
        "settings": dict(source.supernet.settings),
        "input": {"name": INPUT_NAME, "shape": ["batch", data.in_channels, data.image_size, data.image_size],
                  "dtype": "float32", "layout": "NCHW",
                  "preprocessing": "x = (uint8_image / 255 - mean) / std per channel",
                  "mean": list(data.mean), "std": list(data.std)},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", data.num_classes], "classes": list(data.class_names)},
        "supernet": {"checksum": source.checksum, "path": str(source.supernet_path)},
        "data": dict(result["data"]),
        "run": {"path": str(source.run_dir.resolve()), "pick": result.get("pick"), "objectives": result.get("objectives"),
                "budgets": result.get("budgets"), "seeds": result.get("seeds"), "nested": result.get("family_is_nested")},
        "versions": versions(),
    }


def member_card(source: ExportSource, member: Member, files: Mapping[str, Path], out: Path,
                verification: Verification | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    reported = member.reported
    flips = [f for f in source.result["flips"] if member.name in (f["old"], f["new"])]
    return {
        "format": CARD_FORMAT,
        "name": member.name,
        "position": f"{member.index + 1} of {len(source.family)} (small to large)",
        "platform": reported.get("platform"),
        "arch": member.arch,
        **common(source),
        "accuracy": {"test": reported["accuracy"], "validation": reported["validation_accuracy"],
                     "test_size": source.data.describe()["sizes"]["test"],
                     "validation_size": source.data.describe()["sizes"]["validation"]},
        "params": reported.get("params"),
        "flops": reported.get("flops"),
        "latency_ms": platform_latencies(source, member.arch),
        "flips": {"split": source.result.get("flips_split", "test"), "pairs": flips},
        "files": {fmt: {"path": str(path.relative_to(out)), "sha256": sha256(path)} for fmt, path in files.items()},
        **extra,
        "verification": verification.for_member(member.name) if verification is not None else None,
    }


def family_card(source: ExportSource, cards: Sequence[Mapping[str, Any]], verification: Verification | None) -> dict[str, Any]:
    return {
        "format": FAMILY_FORMAT,
        "members": [{"name": m.name, "arch": m.arch, "exported": any(c["name"] == m.name for c in cards),
                     "accuracy": m.reported["accuracy"], "validation_accuracy": m.reported["validation_accuracy"],
                     "params": m.reported.get("params"), "flops": m.reported.get("flops"),
                     **{k: v for k, v in m.reported.items() if k.startswith("latency@")}} for m in source.family],
        "cards": {c["name"]: f"{c['name']}/card.json" for c in cards},
        **common(source),
        "flips": {"split": source.result.get("flips_split", "test"), "pairs": list(source.result["flips"])},
        "verification": verification.to_dict() if verification is not None else None,
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]


def _flip_rows(pairs: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    return [[p["old"], p["new"], p["nf"], f"{p['nfr']:.4f}", f"[{p['nfr_ci95'][0]:.4f}, {p['nfr_ci95'][1]:.4f}]",
             f"{p['rel_nfr']:.3f}", f"{p['nfi']:.3f}"] for p in pairs]


FLIP_HEADER = ("old", "new", "NF", "NFR", "NFR 95% CI", "rel_NFR", "NFI")


def _shared_markdown(card: Mapping[str, Any]) -> list[str]:
    data, inp, out = card["data"], card["input"], card["output"]
    sizes = ", ".join(f"{k} {v}" for k, v in data["sizes"].items())
    lines = ["", "## Input and output", "",
             f"- input `{inp['name']}`: {inp['dtype']} {inp['layout']} of shape {inp['shape']}; {inp['preprocessing']}, "
             f"mean {inp['mean']}, std {inp['std']}",
             f"- output `{out['name']}`: shape {out['shape']}, classes {', '.join(out['classes'])}",
             "", "## Provenance", "",
             f"- space `{card['space']}`, settings {card['settings']}",
             f"- supernet checksum `{card['supernet']['checksum']}` ({card['supernet']['path']})",
             f"- data `{data['name']}` ({data['source']}), split seed {data['seed']}: {sizes}",
             f"- run `{card['run']['path']}`, pick `{card['run']['pick']}`, budgets {card['run']['budgets']}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in card["versions"].items())]
    return lines


def _verification_markdown(verification: Mapping[str, Any] | None) -> list[str]:
    if verification is None:
        return ["", "## Verification", "", "Not run (`--no-verify`)."]
    rows = [[c["member"], c["format"], f"{c['max_abs_diff']:.3g}", c["changed_predictions"],
             ", ".join(f"{s} {n}" for s, n in c["correct"].items())] for c in verification["formats"]]
    pairs = [[p["old"], p["new"], p["format"], p["nf"], p["reported_nf"]] for p in verification["pairs"]]
    return ["", "## Verification (passed)", "",
            f"Logits of every file against PyTorch's recalibrated member on {verification['images']} images: "
            f"|exported - pytorch| <= {verification['atol']} + {verification['rtol']} x |pytorch| holds; "
            "accuracies and negative flips recomputed from each file's predictions equal the run's.", "",
            *_table(("member", "format", "max abs diff", "predictions changed", "right"), rows), "",
            *_table(("old", "new", "predictions from", "NF", "NF reported"), pairs)]


def member_markdown(card: Mapping[str, Any]) -> str:
    acc = card["accuracy"]
    latency = [[name, f"{v['ms']:.3g}", v["batch"], v["network_settings"], "yes" if v["searched_on"] else ""]
               for name, v in card["latency_ms"].items()]
    files = [[fmt, f"`{f['path']}`", f"`{f['sha256'][:16]}`"] for fmt, f in card["files"].items()]
    lines = [f"# {card['name']}: member {card['position']} of a regnas family", "",
             f"Architecture `{card['arch']}`", "",
             f"- accuracy: test {acc['test']:.4f} ({acc['test_size']} images), validation {acc['validation']:.4f} "
             f"({acc['validation_size']} images)",
             f"- params {card['params']}, FLOPs {card['flops']}", "", "## Files", "",
             *_table(("format", "file", "sha256 (first 16)"), files),
             "", "## Latency per platform (ms, predicted by regnas's lookup tables)", "",
             "Tables price the architecture in the network each table describes (its settings), not "
             "necessarily at this model's width and depth.", "",
             *_table(("platform", "ms", "batch", "table settings", "searched on"), latency),
             "", f"## Negative flips against the other members ({card['flips']['split']} split)", "",
             *_table(FLIP_HEADER, _flip_rows(card["flips"]["pairs"])),
             *_shared_markdown(card), *_verification_markdown(card["verification"])]
    return "\n".join(lines) + "\n"


def family_markdown(card: Mapping[str, Any]) -> str:
    latency_keys = sorted({k for m in card["members"] for k in m if k.startswith("latency@")})
    rows = [[m["name"], f"`{m['arch']}`", f"{m['accuracy']:.4f}", f"{m['validation_accuracy']:.4f}", m["params"],
             *[f"{m[k]:.3g}" for k in latency_keys], f"[card]({card['cards'][m['name']]})" if m["exported"] else "not exported"]
            for m in card["members"]]
    header = ("member", "architecture", "test acc", "validation acc", "params", *[f"{k} (ms)" for k in latency_keys], "card")
    lines = ["# A regnas family, small to large", "", *_table(header, rows),
             "", f"## Negative flips ({card['flips']['split']} split)", "",
             *_table(FLIP_HEADER, _flip_rows(card["flips"]["pairs"])),
             *_shared_markdown(card), *_verification_markdown(card["verification"])]
    return "\n".join(lines) + "\n"
