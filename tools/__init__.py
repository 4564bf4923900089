"""Driver programs: `axc-opt` and friends."""
