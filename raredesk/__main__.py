import sys

from raredesk.cli import main

sys.exit(main())
