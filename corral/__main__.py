"""`python -m corral`: the corral command line."""

from corral.cli import main

if __name__ == "__main__":
    main()
