"""Entry point for `python -m moviegenre` and `torchrun -m moviegenre`."""

from moviegenre.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
