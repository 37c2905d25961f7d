"""``python -m workflow``: the ``jointflow`` command line without the console script."""

from workflow.entrypoints.cli import main

if __name__ == "__main__":
    main()
