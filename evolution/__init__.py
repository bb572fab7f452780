"""pymoo glue for family search: the problem, nested operators, duplicate elimination and the search loop."""
