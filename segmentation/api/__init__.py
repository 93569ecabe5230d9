"""REST API v1 of segmentation: rule versions, runs, per-customer results, movement and the quarterly review."""
