"""compute.scheduler: read in one place (tasks/core/compute.py), refused with one message naming the key, and on
`local` (the default) the data stages never import dask."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tasks.core.compute import KEY, Scheduler, parse_scheduler, scheduler_from_params
from tasks.core.errors import PipelineError
from tasks.core.params import Params, check_keys
from tests.conftest import REPO, subprocess_env

pytestmark = pytest.mark.timeout(120)


def test_local_is_the_default_and_the_committed_setting() -> None:
    assert parse_scheduler(None).is_local and parse_scheduler("local").is_local
    assert scheduler_from_params(Params({})).is_local
    assert scheduler_from_params(Params.load(REPO / "params.yaml")).is_local


def test_processes_and_an_address_are_parsed() -> None:
    assert parse_scheduler("processes:2") == Scheduler("processes:2", workers=2)
    assert parse_scheduler("tcp://127.0.0.1:8786") == Scheduler("tcp://127.0.0.1:8786", address="tcp://127.0.0.1:8786")
    assert not parse_scheduler("tcp://dask-scheduler.svc:8786").is_local


@pytest.mark.parametrize("bad", ["processes:0", "processes:", "processes:two", "tcp://host", "dask", 3, True, []])
def test_a_bad_setting_names_the_key_and_what_is_expected(bad: object) -> None:
    with pytest.raises(PipelineError) as err:
        scheduler_from_params(Params({"compute": {"scheduler": bad}}, "params.yaml"))
    assert f"params.yaml: '{KEY}' must be 'local', 'processes:N'" in str(err.value)
    assert repr(bad) in str(err.value)


def test_the_key_is_accepted_and_a_typo_in_the_section_is_refused() -> None:
    kinds = {"table": {}}
    check_keys(Params({"compute": {"scheduler": "processes:2"}}), "table", kinds)
    with pytest.raises(PipelineError, match=r"'compute\.schedular' is not a known key"):
        check_keys(Params({"compute": {"schedular": "local"}}), "table", kinds)


def test_on_local_the_data_stages_do_not_import_dask() -> None:
    """The stage modules, the table kind's hooks and the drift statistics, and the settings they read: no dask."""
    probe = (
        "import sys\n"
        "import tasks.data.collect, tasks.checks.validate, tasks.features.featurize, tasks.monitoring.monitor\n"
        "import tasks.kinds.table, tasks.kinds.table_checks, tasks.kinds.table_split, tasks.kinds.table_drift\n"
        "import tasks.monitoring.data_drift, tasks.monitoring.drift_stats, tasks.scale.partitions\n"
        "import tasks.kinds.table_spec_on_dask, tasks.scale.exact_moments, tasks.monitoring.drift_on_dask\n"
        "from tasks.core.compute import scheduler_from_params\n"
        "from tasks.core.params import Params\n"
        "from tasks.kinds.table_checks import ValidateSettings\n"
        "from tasks.monitoring.drift import measurer, monitor_settings\n"
        "settings = ValidateSettings.from_params(Params.load())\n"
        "assert settings.scheduler.is_local\n"
        "measurer(monitor_settings(Params.load()), scheduler_from_params(Params.load()))\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'prefect_dask'))\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
