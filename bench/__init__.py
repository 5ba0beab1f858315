"""timebank's benchmarks (``make bench``; ``make bench ONLY=name``): figures, each against a baseline measured in
the same run on the same machine; see the README's "Performance" section."""
