"""Every public class shows a docstring example, and each example's imports, names and arguments are sound.

The same check runs in ``make docs`` (scripts/docs_hooks.py); here it is fast and names each class.
"""

from __future__ import annotations

import pytest

from irods_provider._examples import MAIN_TYPES, check_example, example_of, public_classes

CLASSES = public_classes()


def test_public_classes_cover_each_layer() -> None:
    names = {name.rpartition(".")[2] for name in CLASSES}
    assert {
        "IrodsPutMetadataOperator",
        "IrodsPathSensor",
        "IrodsPathEventTrigger",
        "SFTPToIrodsOperator",
        "IrodsHook",
        "IrodsFileSystem",
        "EmulatorServer",
        "EmbeddedSftpServer",
        "IrodsSession",
        "AsyncIrodsSession",
        "BasicAuth",
        "TransferConfig",
    } <= names
    assert not {"IrodsModelError", "EntryKind", "ReplicateResult", "OpenIdValidator"} & names
    assert len(CLASSES) == 64  # a new public class must come with an example (or be a record)
    assert {len(v) for v in MAIN_TYPES.values()} == {19, 1}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_public_class_has_a_sound_example(name: str) -> None:
    code = example_of(CLASSES[name])
    assert code is not None, f"{name} has no 'Example:' block (fenced python, before the :param fields)"
    assert check_example(code) == [], name


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (
            "from irods_provider.operators.irods import IrodsCopyOperator\n"
            "IrodsCopyOperator(task_id='c', source_path='/z/a', destination='/z/b')",
            "IrodsCopyOperator() does not accept ['destination']",
        ),
        (
            "from irods_provider.sensors.irods import IrodsPathSensor\n"
            "IrodsPathSensor(task_id='s', path='/z/a', poke_intervall=5)",
            "IrodsPathSensor() does not accept ['poke_intervall']",
        ),
        (
            "from irods_provider.operators.irods import IrodsPutMetadataOperator\n"
            "IrodsPutMetadataOperator(task_id='t', path='/z/a', metadata={'a': '1'}, irods_conn='x')",
            "IrodsPutMetadataOperator() does not accept ['irods_conn']",
        ),
        (
            "from irods_provider.operators.irods import IrodsPutOperator\n",
            "line 1: from irods_provider.operators.irods import IrodsPutOperator fails: ImportError",
        ),
        (
            "from irods_provider.client import BasicAuth\n"
            "with IrodsSession('https://h/irods-http-api/0.7.0', auth=BasicAuth('a', 'b')) as s:\n"
            "    s.collections.create('/z/a')",
            "'IrodsSession' is used but never imported or assigned",
        ),
        (
            "import fsspec\nfs = fsspec.filesystems('irods')",
            "module fsspec has no attribute 'filesystems'",
        ),
        (
            "from irods_provider.client import RetryPolicy\nRetryPolicy(attempts=3)",
            "RetryPolicy() does not accept ['attempts']",
        ),
        ("x = (", "does not compile"),
    ],
)
def test_the_check_names_what_is_wrong(code: str, problem: str) -> None:
    problems = check_example(code)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem)


def test_a_block_that_only_builds_operators_runs_and_airflow_judges_the_values() -> None:
    """Pure blocks run whole: a value Airflow refuses (a task id with a space) fails the check too."""
    code = (
        "from irods_provider.operators.irods import IrodsMoveOperator\n"
        "IrodsMoveOperator(task_id='not valid!', source_path='/z/a', destination_path='/z/b')"
    )
    (problem,) = check_example(code)
    assert problem.startswith("running it fails: ")
    assert "not valid!" in problem


def test_an_example_after_the_fields_is_not_an_example() -> None:
    """Text after ``:param`` renders inside the last argument's description: such a block is not found."""

    class Late:
        """Summary.

        :param a: something.

        Example:

        ```python
        print(1)
        ```
        """

    class Early:
        """Summary.

        Example:

        ```python
        print(1)
        ```

        :param a: something.
        """

    assert example_of(Early) == "print(1)"
    assert example_of(Late) is None


def test_every_public_class_is_on_an_api_page() -> None:
    """Each class is rendered (with its example) by a ``:::`` directive naming it or a module exporting it."""
    import importlib
    import re
    from pathlib import Path

    pages = Path(__file__).resolve().parents[3] / "docs" / "api"
    directives = {d for page in pages.glob("*.md") for d in re.findall(r"^::: (\S+)", page.read_text(), re.M)}
    modules = []
    for directive in directives:
        try:
            modules.append(importlib.import_module(directive))
        except ImportError:  # a class, not a module
            continue

    def exported(name: str, cls: type) -> bool:
        return any(getattr(module, name.rpartition(".")[2], None) is cls for module in modules)

    missing = [name for name, cls in CLASSES.items() if name not in directives and not exported(name, cls)]
    assert missing == []
