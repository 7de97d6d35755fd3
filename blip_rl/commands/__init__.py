"""The command line, ``blip-rl COMMAND``: the only place where the wings (agents,
classification) meet. Each command is a module holding its ``COMMAND``."""
