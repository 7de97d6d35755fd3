"""The BLIP core: quantized layers, the clip, the Fisher, consolidation, the strategies (BLIP,
EWC, fine-tuning) and the metrics. It imports nothing else of blip-rl."""
