"""No value is ever interpreted as code, and no host data value can produce a traceback.

Values that reach a shell (on the controller or a host) stay one word; values that reach a Nix
expression stay one string; bad host data is one line naming the host and the key.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nixfleet import areas, probe
from nixfleet.area import Context, Declared
from nixfleet.areas import syncthing
from nixfleet.areas.syncthing import rest_endpoint
from nixfleet.errors import NixfleetError
from nixfleet.nix import nix_string
from nixfleet.probe import Part
from nixfleet.settings import HostSettings

# Any text an argument can carry (no NUL), weighted towards what shells and frames care about.
TEXT = st.text(
    st.one_of(
        st.sampled_from(list("$`'\"\\;|&()<>{}*?!~#- \n\t=")),
        st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(TEXT)
def test_a_probe_argument_reaches_the_host_as_exactly_one_word(value: str) -> None:
    # refuse.sh prints its first argument on stderr: what arrives is what was sent.
    command = probe.command([Part("listeners", "refuse", (value, "second"))])
    done = subprocess.run(["sh", "-c", command], capture_output=True, check=True)
    reply = probe.parse(done.stdout.decode("ascii").splitlines())["listeners"]
    assert reply.rc == 2
    sent = value.encode("utf-8", "surrogateescape")
    assert reply.err.encode("utf-8", "surrogateescape") == sent + b"\n"


@settings(max_examples=25, deadline=None)
@given(TEXT)
def test_a_name_in_a_nix_expression_stays_one_string(value: str) -> None:
    done = subprocess.run(
        ["nix-instantiate", "--eval", "--json", "--expr", nix_string(value)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout) == value


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1:8384; touch /tmp/x", "$(id):8384", "-K/etc/shadow:1", "127.0.0.1:8384 -o /x", ""],
)
def test_a_hostile_gui_address_is_refused_not_run(address: str) -> None:
    with pytest.raises(ValueError, match="guiAddress"):
        rest_endpoint(address)


def test_a_refused_gui_address_makes_syncthing_unknown_not_missing() -> None:
    declared = Declared({"syncthing": syncthing.Declaration("u", "/x", "$(reboot):1")})
    parts = areas.parts(declared, Context("h", datetime.now(timezone.utc)), ["syncthing.running"])
    done = subprocess.run(["sh", "-c", probe.command(parts)], capture_output=True, text=True)
    value = areas.observe(done.stdout.splitlines())[syncthing.STATUS]
    assert str(value).startswith("could not read Syncthing's state: guiAddress '$(reboot):1'")


def test_folder_paths_and_repositories_travel_as_words() -> None:
    hostile = ["-rf", "~/My Docs", "$(reboot)", "a'b", "sftp:root@nas:/srv/$(x)"]
    command = probe.command(
        [Part("syncthing", "syncthing", ("/cfg", "http://127.0.0.1:1", "", *hostile))]
    )
    words = shlex.split(command)
    assert words[-len(hostile) :] == hostile


def data(tmp_path: Path, **extra: object) -> dict[str, object]:
    return {"flake": str(tmp_path), **extra}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("backup_max_age", {"desktop": "soon"}),
        ("backup_max_age", ["desktop"]),
        ("backup_max_age", {"desktop": True}),
        ("backup_max_age", {"desktop": "-5h"}),
        ("nb_push_grace", "a while"),
        ("nb_push_grace", [1]),
        ("gates", ["syncthing.runing"]),
        ("gates", "nixos.current-system"),
        ("verify_after_deploy", "no"),
        ("allow_dirty", 1),
        ("ssh_port", "22; reboot"),
        ("ssh_port", 70000),
        ("ssh_hostname", "-oProxyCommand=reboot"),
        ("ssh_hostname", "host name"),
        ("ssh_user", "-l"),
        ("prometheus_textfile", 5),
        ("deploy_hint", ["pyinfra"]),
        ("flake_attr", 'a".${builtins.abort "x"}'),
        ("flake_checkout", "relative/path"),
        ("watchdog_s", "soon"),
        ("reboot", "sometimes"),
        ("action", "reboot"),
    ],
)
def test_bad_host_data_is_one_line_naming_host_and_key(
    tmp_path: Path, key: str, value: object
) -> None:
    with pytest.raises(NixfleetError) as caught:
        HostSettings.from_data("laptop", data(tmp_path, **{key: value}))
    message = str(caught.value)
    assert message.startswith("laptop: ") and key.split(".")[0] in message and "\n" not in message


def test_good_host_data_is_typed(tmp_path: Path) -> None:
    s = HostSettings.from_data(
        "laptop",
        data(tmp_path, backup_max_age={"laptop": "26h"}, nb_push_grace="2h", gates=["nb.pushed"],
             verify_after_deploy=False, ssh_port=2222),
    )  # fmt: skip
    assert s.backup_max_age["laptop"].total_seconds() == 26 * 3600
    assert s.nb_push_grace.total_seconds() == 7200 and s.gates == ("nb.pushed",)
    assert not s.verify_after_deploy and s.ssh.port == 2222
