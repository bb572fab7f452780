"""``--setting KEY=VALUE`` on every command that builds networks (evolve, train, finetune, profile, lut fit, bench): checked against the space's declared settings,
a bad one refused in one line (exit 2) naming it and what is allowed, before any file is read or written."""
from __future__ import annotations

import json

import pytest

from search_spaces import DEFAULT_SPACE, get_space
from tests.test_bad_input import SEED_COMMANDS, refused

SPACE = get_space(DEFAULT_SPACE)
NAMES = ", ".join(s.name for s in SPACE.settings)
FIRST = SPACE.settings[0].name


@pytest.mark.parametrize("command, argv", [*SEED_COMMANDS, ("regnas-bench", ["headline", "--data-path", "missing.npz"])])
@pytest.mark.parametrize("items, message", [
    (["no_such=2"], f"unknown {SPACE.name} setting 'no_such'; allowed: {NAMES}"),
    ([f"{FIRST}=wide"], f"{SPACE.name} setting {FIRST}='wide' is not an integer; allowed: an integer >= 1"),
    ([f"{FIRST}=0"], f"{SPACE.name} setting {FIRST}=0 is out of range; allowed: an integer >= 1"),
    ([FIRST], f"setting '{FIRST}' is not KEY=VALUE; {SPACE.name} settings: {NAMES}"),
    ([f"{FIRST}=4", f"{FIRST}=8"], f"setting {FIRST} is given twice"),
])
def test_a_bad_setting_is_one_line_on_every_command(command, argv, items, message, tmp_path, capsys):
    flags = [arg for item in items for arg in ("--setting", item)]
    err = refused(command, [*argv, *flags, "--out", str(tmp_path / "out.json")], capsys)
    assert message in err, err
    assert not (tmp_path / "out.json").exists()


def test_evolve_merges_settings_over_the_spaces_quick_ones(tmp_path):
    from regnas.cli.evolve import config_from_args, parser

    args = parser().parse_args(["--setting", f"{FIRST}=3"])
    assert config_from_args(args).supernet_settings == {**SPACE.quick_settings, FIRST: 3}
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"supernet_settings": {FIRST: 5}}))
    args = parser().parse_args(["--config", str(config)])
    assert config_from_args(args).supernet_settings == {**SPACE.quick_settings, FIRST: 5}
    assert config_from_args(parser().parse_args([])).supernet_settings == SPACE.quick_settings
