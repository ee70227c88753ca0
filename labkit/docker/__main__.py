"""`python -m labkit.docker build -t my-app .` is `labkit docker build -t my-app .`."""
import sys

from labkit.docker.cli import main

sys.exit(main())
