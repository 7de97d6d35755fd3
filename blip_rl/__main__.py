import sys

from blip_rl.cli import main

sys.exit(main())
