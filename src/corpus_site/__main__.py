"""`python -m corpus_site` runs the command line."""

import sys

from corpus_site.cli import main

sys.exit(main())
