"""Entry point of the one-file executable built by `make binary`."""

from chatd.cli import main

if __name__ == "__main__":
    main()
