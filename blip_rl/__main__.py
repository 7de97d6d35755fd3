import sys

from blip_rl.commands.main import main

sys.exit(main())
