"""Demo script process: the seeded orders table of demo/sales_orders.ipynb, as a `.py`
process (no kernel).  `nb_kwargs` give `rows`, `seed` and, for tests, `fail_at_row`."""

import random

import pandas as pd

from llm_assets import nb

params = nb.params({"process": "demo_sales_orders", "nb_kwargs": {"rows": "200", "seed": "7"}})

rng = random.Random(int(params.nb_kwargs.get("seed", 7)))
rows = int(params.nb_kwargs.get("rows", 200))
if "fail_at_row" in params.nb_kwargs:
    raise ValueError(f"refusing row {params.nb_kwargs['fail_at_row']} (fail_at_row is set)")
orders = pd.DataFrame({
    "order_id": range(1, rows + 1),
    "customer_id": [rng.randint(1, 40) for _ in range(rows)],
    "amount": [round(rng.uniform(5, 250), 2) for _ in range(rows)],
})
print(f"{params.process}: {len(orders)} orders")  # noqa: T201 - goes to the compute log
nb.report(source_row=0, target_row=len(orders))
nb.result(orders)
