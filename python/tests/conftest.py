"""pytest options for the gradcam package tests.

    python -m pytest python/tests [--gradcam build/gradcam] [--parity-fixtures tests/parity/fixtures]
        [--require-installed]

--require-installed: fail unless `gradcam` comes from site-packages (the
run_tests.sh stage installs it into a venv first and checks this).
"""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pytest_addoption(parser):
    parser.addoption("--gradcam", default=os.path.join(ROOT, "build", "gradcam"), help="the CLI binary")
    parser.addoption("--parity-fixtures", default=os.path.join(ROOT, "tests", "parity", "fixtures"),
                     help="torch parity fixtures (tools/make_parity_fixtures.py, make_method_fixtures.py)")
    parser.addoption("--require-installed", action="store_true", help="gradcam must be the installed package")


@pytest.fixture(scope="session")
def gradcam_bin(request):
    path = request.config.getoption("--gradcam")
    if not os.access(path, os.X_OK):
        pytest.fail("the gradcam CLI %s is missing: run make" % path)
    return path


@pytest.fixture(scope="session")
def fixtures(request):
    return request.config.getoption("--parity-fixtures")


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def demo_model():
    return os.path.join(ROOT, "models", "demo.onnx")
