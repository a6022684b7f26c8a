import sys

from pipeline.promote import main

sys.exit(main())
