"""What every command shares and no wing owns: flags generated from configs, crash-safe
checksummed files, run folders, figures, W&B dashboards, signals and the device. It imports
only the core."""
