"""Allow ``python -m sloguard``; tests use this so they always run the tree they sit in."""

from sloguard.cli import main

if __name__ == "__main__":
    main()
