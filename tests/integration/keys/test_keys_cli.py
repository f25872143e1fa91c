"""`bbctl keys` against a "deployed" stack in moto: the table is found through the stack outputs."""

from __future__ import annotations

import json

import pytest

from bbctl.__main__ import main

STACK = "plugsurfing-backbone-staging"


@pytest.fixture
def deployed(aws, resources, monkeypatch):
    monkeypatch.delenv("CHARGING_KEYS_TABLE", raising=False)
    monkeypatch.delenv("BBCTL_STACK_NAME", raising=False)
    # A stand-in stack whose only job is to publish the output the CLI resolves names from.
    outputs_template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"ChargingKeysTableName": {"Value": resources["ChargingKeysTable"]}},
    }
    aws.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(outputs_template))
    return ["--stack-name", STACK, "--region", "eu-west-1"]


def test_given_a_deployed_stack_when_operating_keys_then_the_table_comes_from_its_outputs(
    deployed, tmp_path, capsys
):
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text("uid,visual_number,type\n3633E0E0,DE-9FS-C045DS363-E,card\n")
    assert main(["keys", "import", str(keys_file), *deployed]) == 0
    assert main(["keys", "assign", "DE-9FS-C045DS363-E", "--fleet", "y1nNLJqb7m", *deployed]) == 0
    assert main(["keys", "enable", "3633e0e0", *deployed]) == 0
    capsys.readouterr()
    assert main(["keys", "show", "3633E0E0", *deployed]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["state"], shown["enabled"], shown["ownerId"]) == ("ACTIVE", True, "y1nNLJqb7m")
    assert main(["keys", "list", "--owner", "y1nNLJqb7m", "--json", *deployed]) == 0
    (listed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["uid"] == "3633E0E0"


def test_given_a_csv_when_imported_then_progress_counts_on_stderr_and_stdout_keeps_the_summary(
    deployed, tmp_path, capsys
):
    keys_file = tmp_path / "keys.csv"
    rows = "".join(f"04A1B2C3D4{n:04X},DE*PRG*{n:05d}\n" for n in range(150))
    keys_file.write_text(f"uid,visual_number\n{rows}")

    assert main(["keys", "import", str(keys_file), *deployed]) == 0

    printed = capsys.readouterr()
    assert printed.out == "imported 150 key(s) as IN_STOCK\n"
    progress = printed.err.splitlines()
    assert "keys checked against the table: 150/150 done" in progress
    assert "keys written: 150/150 done" in progress  # two transactions (100 + 50)


def test_given_a_refused_change_when_run_then_one_error_line_and_exit_1(deployed, tmp_path, capsys):
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text("uid,visual_number\n3633E0E0,V-1\n")
    main(["keys", "import", str(keys_file), *deployed])
    assert main(["keys", "lost", "V-1", *deployed]) == 0
    capsys.readouterr()
    assert main(["keys", "enable", "V-1", *deployed]) == 1
    assert capsys.readouterr().err.startswith("error: cannot enable key 3633E0E0 in state LOST")


def test_given_a_bad_file_when_imported_then_errors_with_line_numbers_and_exit_1(deployed, tmp_path, capsys):
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text("uid,visual_number\n3633E0E0,V-1\nxyz,V-2\n")
    assert main(["keys", "import", str(keys_file), *deployed]) == 1
    err = capsys.readouterr().err
    assert f"{keys_file}:line 3: bad UID" in err
    assert "nothing imported" in err
    assert main(["keys", "list", "--json", *deployed]) == 0
    assert capsys.readouterr().out == ""


def test_given_a_stack_that_does_not_exist_when_run_then_it_says_so(aws, resources):
    with pytest.raises(SystemExit, match="no output ChargingKeysTableName"):
        main(["keys", "list", "--stack-name", "nope", "--region", "eu-west-1"])
