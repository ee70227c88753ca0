import sys

from labkit.gcloud.cli import main

sys.exit(main())
