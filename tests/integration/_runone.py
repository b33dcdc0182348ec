"""Run one integration test file with unittest and print a machine-readable result line.

Used by tests/run; also handy by hand: python3 tests/integration/_runone.py FILE [-k PATTERN]
"""
import importlib.util
import json
import os
import sys
import unittest


def main():
    path = sys.argv[1]
    pattern = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "-k" else None
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = ["*%s*" % pattern]
    suite = loader.loadTestsFromModule(mod)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # A skipped test counts as failed: nothing here may be skipped.
    failed += len(result.skipped)
    passed = result.testsRun - failed
    if result.testsRun == 0:
        failed = 1
    print("MXTEST-RESULT " + json.dumps({"passed": max(passed, 0), "failed": failed}), flush=True)


if __name__ == "__main__":
    main()
