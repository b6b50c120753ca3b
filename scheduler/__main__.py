"""python -m scheduler: corral-scheduler."""

from scheduler.cli import main

if __name__ == "__main__":
    main()
