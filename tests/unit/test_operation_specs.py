"""Operations against faked facts, in pyinfra's own JSON/YAML spec format (pyinfra-testing).

Each directory under operations/ is ``<module>.<operation>``; each file is one case giving the
arguments, the facts the host reports, and the exact commands (or noop/exception) expected.
"""

from pathlib import Path

from pyinfra_testing.operations import make_operation_tests

BASE = Path(__file__).parent / "operations"
for _case_dir in sorted(d.name for d in BASE.iterdir() if d.is_dir()):
    locals()[_case_dir] = make_operation_tests("operations", _case_dir, BASE / _case_dir)
