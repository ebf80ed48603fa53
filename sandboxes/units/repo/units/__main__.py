import sys

from units.cli import main

sys.exit(main())
