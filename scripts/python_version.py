"""Stops ``make`` at once, naming the supported Pythons, when run by a Python this app cannot use.

The supported versions are those Azure Functions runs this app on; ``requires-python`` in
pyproject.toml and the CI matrices say the same (tests/unit/test_python_versions.py and
test_pipelines.py check it).
Kept to syntax every Python parses (2.7 included: type comments, not annotations), so an old
interpreter gets this message rather than a SyntaxError.
"""

import sys

SUPPORTED = ((3, 11), (3, 12), (3, 13))


def _named(version):
    # type: (tuple[int, ...]) -> str
    return ".".join(str(part) for part in version[:2])


def problem(version):
    # type: (tuple[int, ...]) -> str
    """Why ``version`` cannot build this app's environment, or "" when it can."""
    if tuple(version[:2]) in SUPPORTED:
        return ""
    supported = ", ".join(_named(v) for v in SUPPORTED)
    return (
        "ReadyCheck needs Python " + supported + " (the versions Azure Functions runs it on); "
        "this is Python " + _named(version) + " at " + sys.executable + ". "
        "Run make with PYTHON=/path/to/python3.11 (or 3.12, 3.13)."
    )


def main():
    # type: () -> int
    """Exit status 0 on a supported Python, 1 with the message otherwise."""
    message = problem((sys.version_info[0], sys.version_info[1]))
    if message:
        sys.stderr.write("error: " + message + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
