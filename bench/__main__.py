"""`python -m bench [--json PATH]`: Django set up from config.settings, then the bench command."""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    # Here, after setup, not at the top: bench.command and every bench module it imports
    # import the apps' models at module level, which needs the app registry ready.
    from bench.command import Command

    Command().run_from_argv(["python -m bench", "bench", *sys.argv[1:]])


if __name__ == "__main__":
    main()
