"""Built-in checks: one module per practice, each with `META` and `judge(facts, params)`."""
