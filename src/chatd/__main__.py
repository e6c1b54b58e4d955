"""`python -m chatd` and the one-file executable's entry point."""

from chatd.cli import main

if __name__ == "__main__":
    main()
