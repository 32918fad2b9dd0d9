"""``python -m digitscan``."""

from digitscan.cli import main

if __name__ == "__main__":
    main()
