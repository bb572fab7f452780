"""Console entry points: regnas-evolve, regnas-train, regnas-profile, regnas-lut, regnas-plot, regnas."""
