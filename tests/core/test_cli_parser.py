"""The command line: the running command's parser is built on its own (start-up time), and
says the same as the full parser does."""

from __future__ import annotations

import pytest

from ros_init.cli import COMMANDS, build_parser, main


@pytest.mark.parametrize("argv", [["validate", "a.yaml", "--strict"], ["run", "--phase", "boot", "--root", "/r"],
                                  ["plan", "--phase", "network", "--config", "a", "--config", "b"],
                                  ["schema", "--editor"], ["status", "--format", "json"], ["demo"]])
def test_the_one_command_parser_reads_what_the_full_parser_reads(argv: list[str]) -> None:
    full = build_parser().parse_args(argv)
    one = build_parser(argv[0]).parse_args(argv[1:])
    assert vars(one) == vars(full) and one.command == argv[0]


def test_errors_name_the_command_as_before(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 2
    assert "ros-init validate: error: the following arguments are required: FILE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert set(COMMANDS) >= {"validate", "run", "plan", "fetch", "schema", "status", "demo"}
